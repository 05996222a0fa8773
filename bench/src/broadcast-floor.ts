/**
 * The fan-out floor, bench side: starts broadcast-server.ts in its own process
 * and triggers its frames. A receipt is timed from the trigger (t0 just before
 * the IPC message), so the floor is "the bytes exist in a Node process → every
 * subscriber has them": the part of a Syncline receipt that fan-out itself costs.
 */
import path from 'node:path';
import { NodeChild } from './node-child.ts';
import type { Transport } from './subscribers.ts';

export class BroadcastFloor {
  private constructor(
    private readonly child: NodeChild,
    readonly url: string,
    readonly transport: Transport,
  ) {}

  static async start(repoRoot: string, transport: Transport): Promise<BroadcastFloor> {
    const child = NodeChild.spawn({
      name: `${transport} broadcast floor`,
      repoRoot,
      script: path.join('bench', 'src', 'broadcast-server.ts'),
      args: [transport],
    });
    try {
      const { port } = await child.request<{ port: number }>({ type: 'address' }, 30_000);
      return new BroadcastFloor(child, `http://127.0.0.1:${port}`, transport);
    } catch (e) {
      await child.stop(2_000);
      throw e;
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exit(): string | null {
    return this.child.exit;
  }

  /**
   * Frames from now on: `frame` (a `changes` message exactly as Syncline sent it)
   * with each trigger's sequence number in place of the row's `column` value.
   * Returns the frame's size in bytes.
   */
  async setFrame(frame: string, column: string): Promise<number> {
    const { before, after } = splitFrame(frame, column);
    await this.child.request({ type: 'frame', before, after }, 10_000);
    return Buffer.byteLength(frame);
  }

  /** "Send frame `seq` now" to every client. */
  trigger(seq: number): void {
    this.child.send({ type: 'send', seq });
  }

  stop(): Promise<void> {
    return this.child.stop(5_000);
  }
}

/**
 * `frame` around the digits of the row's `column` value: `"n":123` or `"n":"123"`
 * (bigint columns arrive as strings); the first match, so `column` must not also
 * be a field of the message itself (`n` is not).
 */
export function splitFrame(frame: string, column: string): { before: string; after: string } {
  const m = new RegExp(`"${column}":"?(\\d+)`).exec(frame);
  if (!m) throw new Error(`no "${column}" value in the frame ${frame}`);
  const digits = m[1] as string;
  const at = m.index + m[0].length - digits.length;
  return { before: frame.slice(0, at), after: frame.slice(at + digits.length) };
}
