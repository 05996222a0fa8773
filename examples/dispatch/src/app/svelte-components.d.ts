// The app's components are compiled by app-bundle.ts (svelte/compiler); tsc sees only this much of them.
declare module '*.svelte' {
  import type { Component } from 'svelte';
  const component: Component<Record<string, unknown>>;
  export default component;
}
