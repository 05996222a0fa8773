/**
 * Wire protocol version, sent in `hello`/`HELLO`.
 *
 * History:
 *  1 — first version: SSE events, subscriptions with cursors, snapshots in parts,
 *      one `changes` message per committed transaction, `resync`, differential sync.
 */
export const PROTOCOL_VERSION = 1;
