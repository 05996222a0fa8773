/**
 * `connectionStatus()`: what a status badge needs.
 *
 *   open ──────────────────────────────▶ online
 *   idle, connecting (first attempt) ──▶ connecting
 *   backoff, connecting after a drop ──▶ offline     (writes queue; `queued` counts them)
 *   closed ────────────────────────────▶ offline
 *
 * Reconnect attempts after a drop stay `offline` rather than flickering
 * between offline and connecting with every backoff round.
 */
import type { ConnectionState, ConnectionStateEvent, SyncClient } from '@syncline/client';
import { createSubscriber } from 'svelte/reactivity';
import { getSynclineClient } from './context.ts';

export type ConnectionStatus = 'online' | 'connecting' | 'offline';

export function statusOf(state: ConnectionState, previous?: ConnectionState): ConnectionStatus {
  switch (state) {
    case 'open':
      return 'online';
    case 'backoff':
    case 'closed':
      return 'offline';
    case 'connecting':
      return previous === 'backoff' ? 'offline' : 'connecting';
    case 'idle':
      return 'connecting';
  }
}

/** The last state change per client (one listener per client), to tell a reconnect from a first connect. */
const lastEvents = new WeakMap<SyncClient, { event: ConnectionStateEvent | undefined }>();

function lastEventOf(client: SyncClient): { event: ConnectionStateEvent | undefined } {
  let last = lastEvents.get(client);
  if (last === undefined) {
    const created: { event: ConnectionStateEvent | undefined } = { event: undefined };
    client.on('state', (e) => (created.event = e));
    lastEvents.set(client, (last = created));
  }
  return last;
}

export class LiveConnectionStatus {
  private readonly last: { event: ConnectionStateEvent | undefined };
  private readonly trackState: () => void;
  private readonly trackQueued: () => void;

  constructor(private readonly client: SyncClient) {
    this.last = lastEventOf(client);
    let shown = this.statusNow();
    this.trackState = createSubscriber((update) => {
      shown = this.statusNow();
      return client.on('state', () => {
        const now = this.statusNow();
        if (now !== shown) update(); // backoff ⇄ connecting after a drop is offline throughout
        shown = now;
      });
    });
    this.trackQueued = createSubscriber((update) => {
      let count = client.pendingMutations;
      return client.on('view', () => {
        if (client.pendingMutations !== count) update(); // a server change to the view is not a queue change
        count = client.pendingMutations;
      });
    });
  }

  get status(): ConnectionStatus {
    this.trackState();
    return this.statusNow();
  }

  /** Mutations not yet confirmed by the server (sent or waiting to be). */
  get queued(): number {
    this.trackQueued();
    return this.client.pendingMutations;
  }

  private statusNow(): ConnectionStatus {
    const state = this.client.state;
    const last = this.last.event;
    return statusOf(state, last?.state === state ? last.previous : undefined);
  }
}

export function connectionStatus(): LiveConnectionStatus {
  return new LiveConnectionStatus(getSynclineClient());
}
