import type { ErrorMessage } from '@syncline/protocol';

/**
 * What ready() rejects with: an Error (so stack traces and `instanceof` work)
 * carrying the protocol error code. Codes of our own: `CLOSED`, `UNSUBSCRIBED`.
 */
export class SyncError extends Error {
  readonly code: string;
  readonly subscription: string | undefined;

  constructor(code: string, message: string, subscription?: string) {
    super(`${code}: ${message}`);
    this.name = 'SyncError';
    this.code = code;
    this.subscription = subscription;
  }

  static from(reason: unknown): SyncError {
    if (reason instanceof SyncError) return reason;
    if (typeof reason === 'object' && reason !== null && 'code' in reason && typeof reason.code === 'string') {
      const { code, message, subscription } = reason as Partial<ErrorMessage> & { code: string };
      return new SyncError(code, typeof message === 'string' ? message : '', subscription);
    }
    return new SyncError('CLOSED', reason instanceof Error ? reason.message : String(reason));
  }
}
