/**
 * One client subscription shared by every component that asks for the same
 * collection and params, with the snapshot React reads: a new object only when
 * the rows, status or error changed (useSyncExternalStore compares by identity).
 */
import { SyncError, type SubscriptionHandle, type SyncClient } from '@syncline/client';
import type { Row } from '@syncline/protocol';
import type { Lingering } from './shared-resources.ts';

/** `connecting` and `snapshot` are both "no complete data yet" to a component. */
export type SubscriptionState = 'loading' | 'live' | 'resyncing' | 'error';

export interface SubscriptionSnapshot<R extends Row = Row> {
  /** Rows in snapshot order (stored rows, before the network, when the client has a store). */
  readonly rows: readonly R[];
  readonly status: SubscriptionState;
  /** Set while `status` is `error`. */
  readonly error: SyncError | undefined;
  /** The client subscription's id (for `useQuery({ subscription: id })`). */
  readonly id: string;
}

export class SharedSubscription implements Lingering {
  readonly handle: SubscriptionHandle;
  private snapshot: SubscriptionSnapshot;
  private readonly listeners = new Set<() => void>();
  private readonly detach: Array<() => void>;

  constructor(client: SyncClient, id: string, collection: string, params: SubscriptionHandle['params']) {
    this.handle = client.subscribe(params === undefined ? { id, collection } : { id, collection, params });
    this.snapshot = this.read();
    const refresh = () => this.refresh();
    this.detach = [this.handle.on('change', refresh), this.handle.on('status', refresh)];
    // A subscription that fails before its snapshot rejects ready(); the status event says so too.
    this.handle.ready().catch(() => undefined);
  }

  get current(): SubscriptionSnapshot {
    return this.snapshot;
  }

  /** Bound, so React sees one subscribe function and does not resubscribe per render. */
  readonly listen = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  dispose(): void {
    for (const off of this.detach) off();
    this.listeners.clear();
    this.handle.unsubscribe();
  }

  private refresh(): void {
    const next = this.read();
    const prev = this.snapshot;
    if (next.rows === prev.rows && next.status === prev.status && next.error === prev.error) return;
    this.snapshot = next;
    for (const listener of [...this.listeners]) listener();
  }

  private read(): SubscriptionSnapshot {
    const { handle } = this;
    const status = stateOf(handle.status);
    const prev = this.snapshot as SubscriptionSnapshot | undefined;
    // Keep the same error object while the status stays `error`, so nothing re-renders for it.
    const error =
      status !== 'error' ? undefined : (prev?.error ?? (handle.error ? SyncError.from(handle.error) : undefined));
    return { rows: handle.rows(), status, error, id: handle.id };
  }
}

function stateOf(status: SubscriptionHandle['status']): SubscriptionState {
  switch (status) {
    case 'connecting':
    case 'snapshot':
      return 'loading';
    default:
      return status;
  }
}
