/** The bearer token of a request: `Authorization: Bearer …`, or `?token=` where browsers cannot set headers. */
import type { IncomingMessage } from 'node:http';

export function tokenOf(req: IncomingMessage, query: URLSearchParams): string {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  return query.get('token') ?? '';
}
