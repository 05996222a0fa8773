/**
 * Keeps a connection's token honest: a warning before `exp` (WebSocket
 * TOKEN_EXPIRING_SOON, so the client can send TOKEN_REFRESH), and at `exp` the
 * stream ends with AUTH_FAILED. A refresh reschedules both.
 */
import type { SyncConnection } from './sync-connection.ts';

export class TokenLifetime {
  private warn: NodeJS.Timeout | null = null;
  private expire: NodeJS.Timeout | null = null;

  constructor(
    private readonly conn: SyncConnection,
    private readonly warningSec: number,
    private readonly onWarn: (expiresInSec: number) => void,
  ) {}

  schedule(expiresAt: number | null): void {
    this.cancel();
    if (expiresAt === null) return;
    const warnAt = expiresAt - this.warningSec * 1000;
    this.warn = at(warnAt, () => this.onWarn(Math.max(0, Math.round((expiresAt - Date.now()) / 1000))));
    this.expire = at(expiresAt, () => {
      this.conn.error({ code: 'AUTH_FAILED', message: 'token expired' });
      this.conn.close();
    });
  }

  cancel(): void {
    if (this.warn) clearTimeout(this.warn);
    if (this.expire) clearTimeout(this.expire);
    this.warn = this.expire = null;
  }
}

/** setTimeout for a wall-clock time, also beyond setTimeout's 24.8-day limit (it re-arms). */
function at(time: number, fn: () => void): NodeJS.Timeout {
  const MAX = 2_000_000_000;
  const left = time - Date.now();
  const t = left > MAX ? setTimeout(() => at(time, fn), MAX) : setTimeout(fn, Math.max(0, left));
  t.unref();
  return t;
}
