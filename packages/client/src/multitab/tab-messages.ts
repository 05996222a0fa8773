/**
 * What tabs of one origin say to each other over their BroadcastChannel.
 *
 *   follower ─ join / sub / unsub / mutate / presence ─▶ leader
 *   leader   ─ welcome / sub-error / mutated ─▶ one follower (`to`)
 *   leader   ─ leader / state / changes / ack / reset / resync / own / fail / presence-event
 *              pending-add / pending-confirm / pending-reject ─▶ every follower
 *
 * Followers replay what the leader's subscriptions and pending mutations went
 * through, in the leader's order (a channel keeps one sender's order), so their
 * state is the leader's. Every message carries `v`: tabs running another
 * version of the library ignore each other rather than misread.
 */
import type {
  AckMessage,
  BroadcastMessage,
  PresenceDiffMessage,
  PresenceStateMessage,
  Change,
  ChangesMessage,
  ErrorMessage,
  JsonValue,
  SnapshotRow,
  Subscription as WireSubscription,
  WrittenRow,
} from '@syncline/protocol';
import type { ConnectionState } from '../connection/connection-state.ts';
import type { MutationBody, MutationError, MutationStatus } from '../mutations/pending-mutations.ts';
import type { AwaitedOwnRows } from '../own-rows/own-rows.ts';

export const TAB_PROTOCOL_VERSION = 1;

export interface MirroredMutation {
  mutationId: number;
  body: MutationBody;
  createdAt: JsonValue;
  status: MutationStatus;
}

export interface ConnectionMirror {
  state: ConnectionState;
  connectionId?: string;
  /** With `closed`: why the leader's connection ended for good (e.g. AUTH_FAILED with a fixed token). */
  error?: ErrorMessage;
}

export type TabMessage =
  // followers → leader
  | { t: 'join'; from: string }
  | { t: 'sub'; from: string; sub: WireSubscription }
  | { t: 'unsub'; from: string; id: string }
  | { t: 'mutate'; from: string; requestId: string; body: MutationBody }
  /** A follower's presence request, carried on the leader's connection under the follower's tab key. */
  | { t: 'presence'; from: string; kind: 'set' | 'leave' | 'broadcast'; body: Record<string, JsonValue> }
  // leader → one follower
  | { t: 'welcome'; from: string; to: string; pending: MirroredMutation[]; connection: ConnectionMirror }
  | { t: 'sub-error'; to: string; id: string; error: ErrorMessage }
  | { t: 'mutated'; to: string; requestId: string; mutationId?: number; error?: string }
  // leader → every follower
  | { t: 'leader'; from: string }
  | { t: 'state'; connection: ConnectionMirror }
  | { t: 'changes'; message: ChangesMessage }
  | { t: 'ack'; message: AckMessage; advanced: string[] }
  | {
      t: 'reset';
      to?: string;
      id: string;
      rows: SnapshotRow[];
      cursor: string;
      /** The subscription's table, when the leader knows it. */
      table?: string;
      /** Own rows the leader still awaits for it, and where the stream last changed each since. */
      awaited: AwaitedOwnRows[];
      touched: Record<string, string>;
    }
  | { t: 'resync'; id: string }
  | { t: 'own'; id: string; key: string; change?: Change; applied: boolean }
  | { t: 'fail'; id: string; error: ErrorMessage }
  | { t: 'pending-add'; mutation: MirroredMutation }
  | { t: 'pending-confirm'; mutationId: number; rows: WrittenRow[]; cursor: string | null }
  | { t: 'pending-reject'; mutationId: number; error: MutationError; current?: WrittenRow }
  /** What the shared connection heard about presence rooms (each tab applies it to the rooms it holds). */
  | { t: 'presence-event'; event: PresenceEvent };

export type PresenceEvent =
  | { type: 'presence_state'; message: PresenceStateMessage }
  | { type: 'presence_diff'; message: PresenceDiffMessage }
  | { type: 'broadcast'; message: BroadcastMessage }
  | { type: 'error'; message: ErrorMessage };

/** As posted: the protocol version and the posting tab (followers take effects only from their leader). */
export type Envelope = TabMessage & { v: number; sender: string };

const KINDS = new Set<string>([
  'join',
  'sub',
  'unsub',
  'mutate',
  'presence',
  'welcome',
  'sub-error',
  'mutated',
  'leader',
  'state',
  'changes',
  'ack',
  'reset',
  'resync',
  'own',
  'fail',
  'pending-add',
  'pending-confirm',
  'pending-reject',
  'presence-event',
]);

/**
 * Only our tabs post on this channel (same origin, our name), so the shape is
 * trusted once the version and kind match; anything else is ignored.
 */
export function readTabMessage(data: unknown): Envelope | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const m = data as { v?: unknown; t?: unknown; sender?: unknown };
  if (m.v !== TAB_PROTOCOL_VERSION || typeof m.t !== 'string' || !KINDS.has(m.t)) return undefined;
  if (typeof m.sender !== 'string') return undefined;
  return data as Envelope;
}
