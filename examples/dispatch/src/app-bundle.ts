/**
 * The demo app's build, done when the server starts (no separate command):
 *
 *   app/main.ts ──esbuild──▶ one ES module + one sheet ──▶ /app.js, /app.css
 *        └─ *.svelte ──svelte/compiler (client, CSS injected)──┘
 *
 * Workspace packages come from their sources (`@syncline/source`), like the
 * tests; Svelte's browser runtime through esbuild's browser platform.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { compile } from 'svelte/compiler';

const appDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'app');

const svelteComponents: Plugin = {
  name: 'svelte-components',
  setup(b) {
    b.onLoad({ filter: /\.svelte$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const { js, warnings } = compile(source, { filename: args.path, generate: 'client', css: 'injected' });
      return {
        contents: js.code,
        loader: 'js',
        warnings: warnings.map((w) => ({ text: `${w.code}: ${w.message}` })),
      };
    });
  },
};

export interface AppBundle {
  js: string;
  css: string;
}

let built: Promise<AppBundle> | undefined;

/** Builds the app once per process; later calls share the result. */
export function buildDemoApp(): Promise<AppBundle> {
  built ??= build({
    entryPoints: [path.join(appDir, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outdir: path.join(appDir, 'out'), // names the outputs only: nothing is written
    minify: true,
    logLevel: 'warning',
    conditions: ['@syncline/source', 'module'],
    plugins: [svelteComponents],
  }).then((r) => ({
    js: r.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '',
    css: r.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '',
  }));
  return built;
}
