import type { ErrorCode, ErrorMessage } from '@syncline/protocol';
import { protocolCode, SyncError } from '../store/sync-error.ts';

/** A non-2xx answer: its code from the `{ error: { code, message } }` body, or from the status when there is none. */
export class HttpError extends SyncError {
  constructor(
    readonly status: number,
    readonly body: ErrorMessage | undefined,
  ) {
    super(
      body?.code ?? codeOfStatus(status),
      body ? `HTTP ${status}: ${body.message}` : `HTTP ${status}`,
      body?.subscription,
    );
    this.name = 'HttpError';
  }

  /** Authentication failures never heal by retrying with the same credentials. */
  get isAuthFailure(): boolean {
    return this.status === 401 || this.body?.code === 'AUTH_FAILED';
  }

  static async fromResponse(response: Response): Promise<HttpError> {
    return new HttpError(response.status, await readErrorBody(response));
  }
}

async function readErrorBody(response: Response): Promise<ErrorMessage | undefined> {
  try {
    const body: unknown = await response.json();
    if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
    const error: unknown = body.error;
    if (typeof error !== 'object' || error === null) return undefined;
    const { code, message, subscription } = error as Record<string, unknown>;
    if (typeof code !== 'string') return undefined;
    const result: ErrorMessage = { code: protocolCode(code), message: typeof message === 'string' ? message : '' };
    if (typeof subscription === 'string') result.subscription = subscription;
    return result;
  } catch {
    return undefined; // not JSON (a proxy's HTML page, say): the status alone must do
  }
}

/** The protocol's code for an HTTP status, when the body names none (a proxy's page, say). */
export function codeOfStatus(status: number): ErrorCode {
  if (status === 401) return 'AUTH_FAILED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 413) return 'TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  return status >= 400 && status < 500 ? 'BAD_REQUEST' : 'INTERNAL';
}
