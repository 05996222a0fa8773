// The app's components are compiled by Vite's Svelte plugin (vite.config.ts); tsc sees only this much of them.
declare module '*.svelte' {
  import type { Component } from 'svelte';
  const component: Component<Record<string, unknown>>;
  export default component;
}
