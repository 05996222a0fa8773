import type { ErrorCode, ErrorMessage } from '@syncline/protocol';
// The zod-free entry: the codes without the schemas (keeps zod out of the browser bundle).
import { ERROR_CODES } from '@syncline/protocol/errors';
import type { LocalStoreErrorCode } from '../persistence/errors.ts';

/**
 * The client's one error family. Every error the client throws, rejects with
 * or reports is a SyncError carrying a `code`: the protocol's (ERROR_CODES:
 * `AUTH_FAILED`, `FORBIDDEN`, `TOO_LARGE`, …), or one of the client's own:
 *
 *   CLOSED         the client, its connection or its outbox ended
 *   UNSUBSCRIBED   the subscription was unsubscribed before it was ready
 *   local store    OUTBOX_FULL, DRAFTS_FULL, SCHEMA_TOO_NEW, … (LocalStoreError)
 *
 * Subclasses add what their source knows: HttpError the status, LocalStoreError
 * the store's details. `instanceof SyncError` and `code` are enough to handle any.
 */
export type ClientErrorCode = 'CLOSED' | 'UNSUBSCRIBED' | LocalStoreErrorCode;
export type SyncErrorCode = ErrorCode | ClientErrorCode;

export class SyncError extends Error {
  readonly code: SyncErrorCode;
  readonly subscription: string | undefined;

  constructor(code: SyncErrorCode, message: string, subscription?: string, options?: ErrorOptions) {
    super(`${code}: ${message}`, options);
    this.name = 'SyncError';
    this.code = code;
    this.subscription = subscription;
  }

  static from(reason: unknown): SyncError {
    if (reason instanceof SyncError) return reason;
    if (typeof reason === 'object' && reason !== null && 'code' in reason && typeof reason.code === 'string') {
      const { code, message, subscription } = reason as Partial<ErrorMessage> & { code: string };
      return new SyncError(protocolCode(code), typeof message === 'string' ? message : '', subscription);
    }
    return new SyncError('CLOSED', reason instanceof Error ? reason.message : String(reason));
  }
}

/** A code from the wire: one of ours, or INTERNAL for one this client does not know (a newer server's). */
export function protocolCode(code: string): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'INTERNAL';
}
