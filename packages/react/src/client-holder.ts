/**
 * The provider's client: opened once, closed once, whatever React does with effects.
 *
 *   acquire() ── first time ──▶ SyncClient.open(options)   (with a store: stored rows before the network)
 *                               new SyncClient(options)    (without one)
 *   release() ── last holder ──▶ close on the next macrotask, unless acquire() comes first
 *
 * StrictMode mounts, unmounts and mounts again in one go: the second acquire cancels
 * the close, so one client is opened and the live one is never closed.
 */
import { SyncClient, SyncError, type LocalStore, type SyncClientOptions } from '@syncline/client';
import { SharedResources } from './shared-resources.ts';
import type { SharedSubscription } from './shared-subscription.ts';
import type { SharedPresence } from './shared-presence.ts';

/** What the hooks below a provider share: the client and its ref-counted resources. */
export interface SynclineContextValue {
  client: SyncClient;
  subscriptions: SharedResources<SharedSubscription>;
  rooms: SharedResources<SharedPresence>;
}

export type HolderState =
  { status: 'opening' } | { status: 'open'; value: SynclineContextValue } | { status: 'error'; error: SyncError };

export class ClientHolder {
  private state: HolderState = { status: 'opening' };
  private readonly listeners = new Set<() => void>();
  private holders = 0;
  private started = false;
  private closing: ReturnType<typeof setTimeout> | undefined;
  private ended = false;

  constructor(
    private readonly source: { options: SyncClientOptions } | { client: SyncClient },
    private readonly lingerMs: number,
  ) {
    // A client the app made is usable at once, and is the app's to close.
    if ('client' in source) this.state = { status: 'open', value: this.wrap(source.client) };
  }

  get current(): HolderState {
    return this.state;
  }

  /** Bound, so React sees one subscribe function and does not resubscribe per render. */
  readonly listen = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  acquire(): void {
    this.holders++;
    if (this.closing !== undefined) clearTimeout(this.closing);
    this.closing = undefined;
    if (this.ended) this.restart(); // shown again after being hidden for good (<Activity>): a fresh client
    if (this.started || 'client' in this.source) return;
    this.started = true;
    const { options } = this.source;
    const opened = options.store
      ? SyncClient.open(options as SyncClientOptions & { store: LocalStore })
      : Promise.resolve(new SyncClient(options));
    opened.then(
      (client) => {
        if (this.ended) return void client.close(); // unmounted for good while opening
        this.set({ status: 'open', value: this.wrap(client) });
      },
      (error: unknown) => this.set({ status: 'error', error: SyncError.from(error) }),
    );
  }

  release(): void {
    if (--this.holders > 0) return;
    this.closing = setTimeout(() => {
      this.closing = undefined;
      if (this.holders > 0) return;
      this.ended = true;
      if (this.state.status !== 'open') return;
      const { client, subscriptions, rooms } = this.state.value;
      const owned = !('client' in this.source);
      // Our client is closed, which keeps its subscriptions in the store (a reload resumes
      // them from their cursors); the app's client lives on, so what we subscribed ends.
      subscriptions.clear(!owned);
      rooms.clear(!owned);
      if (owned) void client.close();
    }, 0);
  }

  private restart(): void {
    this.ended = false;
    this.started = false;
    this.set(
      'client' in this.source ? { status: 'open', value: this.wrap(this.source.client) } : { status: 'opening' },
    );
  }

  private wrap(client: SyncClient): SynclineContextValue {
    return { client, subscriptions: new SharedResources(this.lingerMs), rooms: new SharedResources(this.lingerMs) };
  }

  private set(state: HolderState): void {
    this.state = state;
    for (const listener of [...this.listeners]) listener();
  }
}
