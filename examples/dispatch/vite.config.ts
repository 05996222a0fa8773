/**
 * The dispatch app's Vite build: src/app/main.ts and its Svelte 5 components
 * into one ES module and one style sheet, the /app.js and /app.css that the
 * demo server serves.
 *
 * `npm start` needs no build step: src/app-bundle.ts runs this same config
 * through Vite's `build()` as the server starts (configFile: false, nothing
 * written; the output stays in memory). The file is here rather than inline so
 * that the app is also an ordinary Vite build, `npx vite build` from this
 * folder, which writes dist/app.js and dist/app.css: to look at the bundle, or
 * to serve it from somewhere else. `npx vite` (the dev server) is not set up:
 * the page, the sign-in and /v1 are the demo server's (src/page.ts).
 *
 * Workspace packages resolve to their sources (`@syncline/source`, as in the
 * tests), then Vite's usual conditions for the browser; the Svelte plugin
 * compiles the components and resolves `svelte` to its browser runtime.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defaultClientConditions, defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const appDir = path.join(here, 'src', 'app');

export default defineConfig({
  root: appDir,
  publicDir: false,
  // Quiet at start: only warnings (Svelte's compiler warnings among them) and errors.
  logLevel: 'warn',
  resolve: { conditions: ['@syncline/source', ...defaultClientConditions] },
  // No svelte.config.js: the plugin's defaults (component CSS goes to the sheet).
  plugins: [svelte({ configFile: false })],
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    minify: true,
    // One sheet and one module, as the page links exactly /app.css and /app.js.
    cssCodeSplit: false,
    modulePreload: false,
    rollupOptions: {
      input: path.join(appDir, 'main.ts'),
      output: {
        inlineDynamicImports: true,
        entryFileNames: 'app.js',
        assetFileNames: (asset) =>
          asset.names.some((n) => n.endsWith('.css')) ? 'app.css' : 'assets/[name]-[hash][extname]',
      },
    },
  },
});
