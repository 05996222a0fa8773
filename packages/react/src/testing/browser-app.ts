/**
 * The React app of the Chromium test: a list of open items over a subscription,
 * bundled by esbuild (chromium-app.ts) and served with its page by the server.
 */
import { createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import { IdbLocalStore } from '@syncline/client';
import { SynclineProvider } from '../provider.ts';
import { useQuery } from '../use-query.ts';
import { useSubscription } from '../use-subscription.ts';

declare global {
  interface Window {
    SYNC_TOKEN: string;
    renders: number;
  }
}

function Items() {
  const { status } = useSubscription('items_open');
  const rows = useQuery('item', (q) => q.where((r) => r['status'] === 'open').orderBy('id'), []);
  window.renders = (window.renders ?? 0) + 1;
  return h(
    'div',
    null,
    h('p', { id: 'status' }, status),
    h(
      'ul',
      { id: 'items' },
      ...rows.map((r) => h('li', { key: String(r['id']) }, `${String(r['id'])}:${String(r['body'])}`)),
    ),
  );
}

const store = await IdbLocalStore.open({ namespace: 'react-chromium' });
const options = { url: location.origin, token: window.SYNC_TOKEN, store, backoff: { baseMs: 100, maxMs: 500 } };
createRoot(document.getElementById('root') as HTMLElement).render(h(SynclineProvider, { options }, h(Items)));
