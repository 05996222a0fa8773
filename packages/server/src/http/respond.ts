/** JSON responses and the protocol's error body. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorBody } from '@syncline/protocol';
import { SynclineError } from '../util/errors.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const e = err instanceof SynclineError ? err : new SynclineError('INTERNAL', 'internal error');
  const body: ErrorBody = { error: { code: e.code, message: e.message, ...e.details } };
  if (!res.headersSent) sendJson(res, e.status, { ...body, ...e.body });
  else res.end();
}

/** Reads a JSON body of at most `limit` bytes; TOO_LARGE / BAD_REQUEST otherwise. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new SynclineError('TOO_LARGE', `body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new SynclineError('TOO_LARGE', `body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new SynclineError('BAD_REQUEST', 'body is not valid JSON');
  }
}
