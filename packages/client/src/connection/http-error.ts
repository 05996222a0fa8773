import type { ErrorMessage } from '@syncline/protocol';

/** A non-2xx answer, with the `{ error: { code, message } }` body when the server sent one. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorMessage | undefined,
  ) {
    super(body ? `HTTP ${status} ${body.code}: ${body.message}` : `HTTP ${status}`);
    this.name = 'HttpError';
  }

  /** Authentication failures never heal by retrying with the same credentials. */
  get isAuthFailure(): boolean {
    return this.status === 401 || this.body?.code === 'AUTH_FAILED';
  }

  static async from(response: Response): Promise<HttpError> {
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
    const result: ErrorMessage = { code, message: typeof message === 'string' ? message : '' };
    if (typeof subscription === 'string') result.subscription = subscription;
    return result;
  } catch {
    return undefined; // not JSON (a proxy's HTML page, say): the status alone must do
  }
}
