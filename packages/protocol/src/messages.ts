import type { BroadcastMessage, PresenceDiffMessage, PresenceStateMessage } from './presence.ts';
import type { ErrorCode } from './errors.ts';
import type { Row } from './values.ts';

export type ChangeOp = 'insert' | 'update' | 'delete';

/** One row change inside a `changes` message, for one of the connection's subscriptions. */
export interface Change {
  /** The subscription's id (the client's, from SUBSCRIBE). */
  subscription: string;
  op: ChangeOp;
  key: string;
  row: Row | null;
  version: number;
}

/** A client mutation that initiated a transaction (from the write API's origin tag). */
export interface MutationRef {
  clientId: string;
  mutationId: number;
}

export interface SnapshotRow {
  key: string;
  row: Row;
  version: number;
}

export interface HelloMessage {
  connectionId: string;
  protocol: number;
  heartbeatMs: number;
}

export interface SnapshotMessage {
  subscription: string;
  /** The table the subscription's rows come from, schema-qualified (`public.order`): as a written row names it. */
  table: string;
  rows: SnapshotRow[];
  cursor: string;
  done: boolean;
}

export interface ChangesMessage {
  cursor: string;
  changes: Change[];
  mutations?: MutationRef[];
  /** Initiator only: changes left out because the mutation's answer holds their rows. */
  covered?: CoveredChange[];
}

export interface AckMessage {
  cursor: string;
  mutations: MutationRef[];
  /** Which of this connection's subscriptions the left-out rows belong to (apply them from the answer). */
  covered?: CoveredChange[];
}

/** A change the initiator gets without its row: it is in the mutation's answer (same table, key, version). */
export interface CoveredChange {
  /** The subscription the row belongs to. */
  subscription: string;
  op: ChangeOp;
  key: string;
  version: number;
}

/** Why a subscription must be resynchronised from a fresh snapshot. */
export type ResyncReason =
  | 'cursor-too-old'
  | 'cursor-ahead'
  | 'cursor-epoch'
  | 'truncate'
  | 'transaction-too-large'
  | 'slot-recreated'
  /** Several nodes: the shared log (Redis) lost data, so a new epoch began. */
  | 'log-lost'
  | 'buffer-overflow'
  | 'schema-changed'
  | 'claims-changed'
  /** Row-level security: visibility of changes could not be decided in memory (a policy only the database checks). */
  | 'rls-recheck';

export interface ResyncMessage {
  subscription: string;
  reason: ResyncReason;
}

export interface ErrorMessage {
  code: ErrorCode;
  message: string;
  subscription?: string;
  /** Presence: the room the error is about (the member is not in it, or no longer). */
  room?: string;
}

/**
 * The server's messages by kind, on both transports: the SSE event name, and
 * (upper-cased) the WebSocket frame's `type` — `changes` is `event: changes`
 * on SSE and `{"type":"CHANGES",…}` on a WebSocket, with the same payload.
 */
export interface ServerMessages {
  hello: HelloMessage;
  snapshot: SnapshotMessage;
  changes: ChangesMessage;
  ack: AckMessage;
  resync: ResyncMessage;
  error: ErrorMessage;
  ping: Record<string, never>;
  /** The subscription is on this connection; its snapshot or replay follows (WebSocket: `SUBSCRIBED`). */
  subscribed: SubscribedMessage;
  presence_state: PresenceStateMessage;
  presence_diff: PresenceDiffMessage;
  broadcast: BroadcastMessage;
}
export type ServerMessageKind = keyof ServerMessages;

export interface SubscribedMessage {
  id: string;
  /** The table the subscription's rows come from, schema-qualified (`public.order`). */
  table: string;
  /** Subscriptions now active on this connection. */
  count: number;
}
/** WebSocket-only server → client payloads. */
export interface TokenExpiringSoonMessage {
  /** Seconds until the token expires. */
  expiresIn: number;
}

/** `POST /v1/sync` answer. */
export interface DiffSyncResponse {
  new: SnapshotRow[];
  updated: SnapshotRow[];
  unchanged: string[];
  removed: string[];
  cursor: string;
}

/** A row a write returned: what the client may apply at once. `row` is null for a delete. */
export interface WrittenRow {
  table: string;
  key: string;
  row: Row | null;
  version: number;
}

/** `POST /v1/mutate` 200 answer. `cursor` is the write's position in the stream (null when replayed). */
export interface MutateResponse {
  ok: true;
  cursor: string | null;
  rows: WrittenRow[];
  replayed?: boolean;
}
