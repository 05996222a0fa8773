/**
 * For vitest only: compiles packages/svelte's test components (`.svelte`) for
 * the DOM, and resolves `svelte` imports made from that package to Svelte's
 * browser runtime. Node alone would pick the server runtime, where effects
 * never run and `createSubscriber` tracks nothing. Scoped by importer so no
 * other package's resolution changes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { compile } from 'svelte/compiler';
import type { Plugin } from 'vite';

type Exports = Record<string, string | Record<string, string>>;

export function svelteTestComponents(scope: string): Plugin {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('svelte/package.json');
  const { exports } = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Exports };
  const inScope = (id: string | undefined): boolean => id !== undefined && id.split(path.sep).join('/').includes(scope);
  return {
    name: 'syncline-svelte-test-components',
    enforce: 'pre',
    resolveId(source, importer) {
      if (!(source === 'svelte' || source.startsWith('svelte/')) || !inScope(importer)) return null;
      const entry = exports[source === 'svelte' ? '.' : `./${source.slice('svelte/'.length)}`];
      const file = typeof entry === 'string' ? entry : (entry?.['browser'] ?? entry?.['default']);
      return file === undefined ? null : path.join(path.dirname(pkgPath), file);
    },
    transform(code, id) {
      if (!id.endsWith('.svelte') || !inScope(id)) return null;
      const { js } = compile(code, { filename: id, generate: 'client', dev: true });
      return { code: js.code, map: js.map };
    },
  };
}
