/** Typed errors that carry a protocol code and an HTTP status. */
import type { ErrorCode } from '@syncline/protocol';

const STATUS: Record<ErrorCode, number> = {
  AUTH_FAILED: 401,
  FORBIDDEN: 403,
  BAD_REQUEST: 400,
  UNKNOWN_COLLECTION: 404,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_LARGE: 413,
  RATE_LIMITED: 429,
  MUST_RESYNC: 409,
  INTERNAL: 500,
};

export class SynclineError extends Error {
  override readonly name = 'SynclineError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = STATUS[code];
  }
}

/** Setup problems the operator must fix (wal_level, privileges, missing columns). */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}
