/** Open connections by id (for POST subscribe), and one heartbeat timer for all of them. */
import type { SyncConnection } from './sync-connection.ts';

export class ConnectionHub {
  private readonly byId = new Map<string, SyncConnection>();
  private readonly perUser = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly heartbeatMs: number) {}

  start(): void {
    this.timer = setInterval(() => {
      for (const c of this.byId.values()) c.ping();
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** All open streams (bounded by maxStreams). */
  get size(): number {
    return this.byId.size;
  }

  /** Open streams of one user (bounded by maxConnectionsPerUser). */
  countFor(userId: string): number {
    return this.perUser.get(userId) ?? 0;
  }

  add(conn: SyncConnection, onClose: () => void): void {
    this.byId.set(conn.id, conn);
    const user = conn.identity.userId;
    this.perUser.set(user, this.countFor(user) + 1);
    conn.onClose = () => {
      this.byId.delete(conn.id);
      const left = this.countFor(user) - 1;
      if (left > 0) this.perUser.set(user, left);
      else this.perUser.delete(user);
      onClose();
    };
  }

  get(id: string): SyncConnection | undefined {
    return this.byId.get(id);
  }

  counts(): { sse: number; ws: number } {
    let sse = 0;
    let ws = 0;
    for (const c of this.byId.values()) {
      if (c.transport === 'sse') sse++;
      else ws++;
    }
    return { sse, ws };
  }

  /** Ends every connection (graceful shutdown): clients reconnect elsewhere and resume by cursor. */
  closeAll(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const c of [...this.byId.values()]) c.close();
  }
}
