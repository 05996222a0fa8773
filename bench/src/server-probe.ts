/**
 * Imported into the Syncline server process before its CLI (`--import`), so the
 * bench can read the server's own heap: `{ type: 'memory', gc }` answers
 * V8's heap statistics, after a full collection when `gc` is set and the
 * process runs with `--expose-gc`. Changes nothing else in the server.
 *
 * If the bench dies, the channel closes and the server shuts down gracefully.
 */
import v8 from 'node:v8';
import { serveParent } from './child-ipc.ts';

serveParent(
  (msg) => {
    if (msg['type'] !== 'memory') throw new Error(`unknown request ${String(msg['type'])}`);
    const gc = (globalThis as { gc?: () => void }).gc;
    if (msg['gc'] && gc) {
      gc();
      gc();
    }
    // Not process.memoryUsage(): its RSS reads /proc and fails (EMFILE) when the server is out of
    // file descriptors, which is exactly when it is interesting. The bench reads RSS from /proc itself.
    const h = v8.getHeapStatistics();
    return {
      heapUsed: h.used_heap_size,
      heapTotal: h.total_heap_size,
      external: h.external_memory,
      collected: Boolean(msg['gc'] && gc),
    };
  },
  () => process.kill(process.pid, 'SIGTERM'),
);
// The server's own handles keep it alive; the channel must not.
process.channel?.unref();
