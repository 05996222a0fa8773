/**
 * The dispatch app in the browser: sign in as the picked demo user, open that
 * user's IndexedDB store (one per user, so a switch never shows another's
 * rows; tabs on the same store share one connection), then mount the app.
 */
import { mount } from 'svelte';
import { IdbLocalStore, namespaceFor } from '@syncline/client';
import App from './App.svelte';
import './app.css';
import { pickedUser, signIn } from './session.ts';

async function start(): Promise<void> {
  const target = document.getElementById('app') as HTMLElement;
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {});
  const user = pickedUser();
  try {
    const session = await signIn(user);
    const store = await IdbLocalStore.open({ namespace: await namespaceFor(session.userId) });
    mount(App, { target, props: { session, store } });
  } catch (e) {
    target.innerHTML = `<p class="fatal">Could not sign in as ${user}: ${e instanceof Error ? e.message : String(e)}</p>`;
  }
}

void start();
