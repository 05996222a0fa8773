/**
 * The child's side of node-child.ts: answers the bench's requests over the IPC
 * channel, and notices when the bench goes away.
 */
export type RequestHandler = (
  msg: Record<string, unknown>,
) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void;

/**
 * Answers every message that carries an `id` with the handler's result (or `{ error }`).
 * `onParentGone` runs when the channel closes: the bench exited, perhaps without cleaning up.
 */
export function serveParent(handler: RequestHandler, onParentGone: () => void): void {
  if (!process.send) throw new Error('must be started with an IPC channel (by the bench)');
  process.on('message', (raw) => {
    const msg = raw as Record<string, unknown>;
    const id = msg['id'];
    Promise.resolve()
      .then(() => handler(msg))
      .then(
        (reply) => {
          if (id !== undefined) reply_({ ...(reply ?? {}), id });
        },
        (err: unknown) => {
          if (id !== undefined) reply_({ id, error: err instanceof Error ? err.message : String(err) });
        },
      );
  });
  process.on('disconnect', onParentGone);
}

/** A message to the bench (dropped if it is gone). */
export function reply_(msg: Record<string, unknown>): void {
  if (process.connected) process.send?.(msg);
}
