/**
 * A DOM for rendering tests that also run a real server in the same process: happy-dom's
 * window and document only, not vitest's happy-dom environment, which would replace Node's
 * fetch, AbortController and EventTarget under the client and the server.
 */
import { Window } from 'happy-dom';
import { createElement, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';

let installed: Window | undefined;

export function installDom(): Window {
  if (installed) return installed;
  const window = new Window({ url: 'http://localhost/' });
  Object.assign(globalThis, { window, document: window.document });
  installed = window;
  return window;
}

export interface Mounted {
  container: HTMLElement;
  render(node: ReactNode): void;
  unmount(): void;
}

/** Renders into a fresh element of the document; `render` again to change what is shown. */
export function mount(node: ReactNode): Mounted {
  installDom();
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root: Root = createRoot(container);
  root.render(node);
  return {
    container,
    render: (next) => root.render(next),
    unmount: () => {
      root.unmount();
      container.remove();
    },
  };
}

/** Counts renders per name: `counted('a', () => <Row />)` in tests, read with `renders.a`. */
export class RenderCounter {
  readonly counts: Record<string, number> = {};
  hit(name: string): void {
    this.counts[name] = (this.counts[name] ?? 0) + 1;
  }
  of(name: string): number {
    return this.counts[name] ?? 0;
  }
}

export const h = createElement;
