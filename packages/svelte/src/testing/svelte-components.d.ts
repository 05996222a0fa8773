// Test components are compiled by testing/vite-svelte.ts; tsc sees only this much of them.
declare module '*.svelte' {
  import type { Component } from 'svelte';
  const component: Component<Record<string, unknown>>;
  export default component;
}
