/**
 * Where this tab's subscriptions and presence go: its own connection to the
 * server (a client on its own, or the leading tab), or the leading tab (a
 * follower). The client talks to whichever is current and never asks which.
 */
import type { ConnectionState } from '../connection/connection-state.ts';
import type { Subscription } from '../store/subscription.ts';

export type PresenceKind = 'set' | 'leave' | 'broadcast';

export interface Upstream {
  readonly state: ConnectionState;
  /** From the connection's `hello` (the leading tab's, when following); undefined while not open. */
  readonly connectionId: string | undefined;
  /** A new subscription of this tab's caller. */
  subscribe(sub: Subscription): void;
  /** A subscription this client already had (stored, or kept for another tab), now claimed by a caller. */
  claim(sub: Subscription): void;
  unsubscribe(id: string): void;
  /** False when it cannot be sent now (it is sent again on the next connection). */
  sendPresence(kind: PresenceKind, body: Record<string, unknown>): boolean;
  /** Something needs the connection open (a presence room on its own). */
  want(): void;
}
