/**
 * Wire protocol version, sent in `hello`/`HELLO`.
 *
 * History:
 *  1 — first version: SSE events, subscriptions with cursors, snapshots in parts,
 *      one `changes` message per committed transaction, `resync`, differential sync.
 *  2 — a change and a covered change name their subscription in `subscription` (was
 *      `collection`, which held the subscription id); `snapshot` and `subscribed` carry the
 *      subscription's `table`, so a client needs no `GET /v1/collections` to place its rows;
 *      `error.code` is always one of ERROR_CODES; one set of message kinds for SSE and
 *      WebSocket (`ServerMessages`).
 */
export const PROTOCOL_VERSION = 2;
