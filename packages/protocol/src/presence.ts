/**
 * Presence: who is in a room, with a small JSON state per connection (a
 * "meta"), and an ephemeral broadcast beside it. A member gets the room's
 * whole state first, then diffs; both are keyed by user (`sub`), each user
 * holding one meta per connection (and per tab key), each meta with its own
 * state. Apply a diff by ref: `joins` add or replace metas, `leaves` remove
 * them; a user with no meta left has left.
 */
import { z } from 'zod';
import type { JsonValue } from './values.ts';

/** A concrete room name, e.g. `order:42` or `drivers-online` (matched against the server's room patterns). */
export const roomNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:@-]+$/, 'room names use letters, digits and _ . : @ -');

/** Tells a connection's metas apart (one per tab of a shared connection); "" when there is one. */
export const metaKeySchema = z
  .string()
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]*$/);

export const presenceSetSchema = z
  .object({ room: roomNameSchema, state: z.unknown(), key: metaKeySchema.optional() })
  .strict();
export const presenceLeaveSchema = z.object({ room: roomNameSchema, key: metaKeySchema.optional() }).strict();
export const broadcastSchema = z
  .object({ room: roomNameSchema, event: z.string().min(1).max(64), payload: z.unknown() })
  .strict();

/** SSE: `POST /v1/presence`, `/v1/presence/leave`, `/v1/presence/broadcast` name the stream they act on. */
export const presenceSetRequestSchema = presenceSetSchema.extend({ connectionId: z.string().min(1).max(128) }).strict();
export const presenceLeaveRequestSchema = presenceLeaveSchema
  .extend({ connectionId: z.string().min(1).max(128) })
  .strict();
export const broadcastRequestSchema = broadcastSchema.extend({ connectionId: z.string().min(1).max(128) }).strict();

export type PresenceSet = z.infer<typeof presenceSetSchema>;
export type PresenceLeave = z.infer<typeof presenceLeaveSchema>;
export type Broadcast = z.infer<typeof broadcastSchema>;

/** One connection's (or tab's) presence in a room. */
export interface PresenceMeta {
  /** Stable for the meta's life; a reload within the grace period keeps it. */
  ref: string;
  state: JsonValue;
  /** When the meta joined, ms since epoch. */
  onlineAt: number;
}

/** Users → their metas. */
export type PresenceMembers = Record<string, PresenceMeta[]>;

/** `presence_state` / `PRESENCE_STATE`: the room as it is now, right after joining (and after a reconnect). */
export interface PresenceStateMessage {
  room: string;
  members: PresenceMembers;
  /** Users in the room. */
  count: number;
  /** Past the server's member cap: `members` is empty and only `count` is kept current. */
  truncated?: boolean;
}

/** `presence_diff` / `PRESENCE_DIFF`: what changed since the last state or diff. */
export interface PresenceDiffMessage {
  room: string;
  joins: PresenceMembers;
  leaves: PresenceMembers;
  count: number;
  truncated?: boolean;
}

/** `broadcast` / `BROADCAST`: an ephemeral event from another member (never stored or replayed). */
export interface BroadcastMessage {
  room: string;
  from: string;
  event: string;
  payload: JsonValue;
}
