/**
 * The demo app's build, done when the server starts (no separate command):
 *
 *   app/main.ts ──Vite + vite-plugin-svelte──▶ one ES module + one sheet ──▶ /app.js, /app.css
 *
 * The config is ../vite.config.ts (also what `npx vite build` there uses), run
 * here with configFile: false and nothing written: the output stays in memory.
 */
import { build, type Rollup } from 'vite';
import config from '../vite.config.ts';

export interface AppBundle {
  js: string;
  css: string;
}

let built: Promise<AppBundle> | undefined;

/** Builds the app once per process; later calls share the result. */
export function buildDemoApp(): Promise<AppBundle> {
  built ??= asProduction(() => build({ ...config, configFile: false, build: { ...config.build, write: false } })).then(
    bundleOf,
  );
  return built;
}

/**
 * Vite builds for production only when NODE_ENV says so (vitest sets it to
 * `test`, which would build Svelte's dev runtime into the tests' app), and sets
 * an unset NODE_ENV for the whole process. So: production for the build, and
 * the server's own NODE_ENV back as it was afterwards.
 */
async function asProduction<T>(run: () => Promise<T>): Promise<T> {
  const before = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env['NODE_ENV'];
    else process.env['NODE_ENV'] = before;
  }
}

function bundleOf(result: Awaited<ReturnType<typeof build>>): AppBundle {
  if (!Array.isArray(result) && !('output' in result)) throw new Error('expected a build, not a watcher');
  const files = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
  const chunks = files.filter((f): f is Rollup.OutputChunk => f.type === 'chunk');
  // The page loads /app.js alone: a second chunk would never be fetched.
  if (chunks.length !== 1) throw new Error(`expected one JS chunk, got ${chunks.map((c) => c.fileName).join(', ')}`);
  const css = files
    .filter((f): f is Rollup.OutputAsset => f.type === 'asset' && f.fileName.endsWith('.css'))
    .map((f) => (typeof f.source === 'string' ? f.source : new TextDecoder().decode(f.source)));
  return { js: chunks[0]!.code, css: css.join('\n') };
}
