/** Error codes shared by HTTP bodies, SSE `error` events and WebSocket `ERROR` frames. */
export const ERROR_CODES = [
  'AUTH_FAILED',
  'FORBIDDEN',
  'BAD_REQUEST',
  'UNKNOWN_COLLECTION',
  'UNKNOWN_ROOM',
  'CONFLICT',
  'TOO_LARGE',
  'RATE_LIMITED',
  'MUST_RESYNC',
  'NOT_FOUND',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Body of every HTTP error response: `{ error: { code, message } }`. */
export interface ErrorBody {
  /** `op`/`field` name the failing part of a write; `retryable` marks transient failures. */
  error: { code: ErrorCode; message: string; subscription?: string; op?: number; field?: string; retryable?: boolean };
}
