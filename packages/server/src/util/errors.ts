/** Typed errors that carry a protocol code and an HTTP status. */
import type { ErrorCode } from '@syncline/protocol';

const STATUS: Record<ErrorCode, number> = {
  AUTH_FAILED: 401,
  FORBIDDEN: 403,
  BAD_REQUEST: 400,
  UNKNOWN_COLLECTION: 404,
  UNKNOWN_ROOM: 404,
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
  /** Extra fields for the error object (`op`, `field`, `retryable`) … */
  readonly details: Record<string, unknown>;
  /** … and beside it in the body (`current` for a CONFLICT). */
  readonly body: Record<string, unknown>;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown>; body?: Record<string, unknown>; status?: number },
  ) {
    super(message, options);
    this.status = options?.status ?? STATUS[code];
    this.details = options?.details ?? {};
    this.body = options?.body ?? {};
  }
}

/** Setup problems the operator must fix (wal_level, privileges, missing columns). */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}
