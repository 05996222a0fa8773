import type { Subscription } from '@syncline/protocol';

/** A fixed token, or a function asked before every request (so it can refresh). */
export type TokenSource = string | (() => string | Promise<string>);

export async function resolveToken(token: TokenSource | undefined): Promise<string | undefined> {
  return typeof token === 'function' ? await token() : token;
}

export function endpoint(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

/**
 * `GET /v1/sync/events?clientId=…&token=…&subscribe=…&subscribe=…`.
 * Built by hand with encodeURIComponent rather than URLSearchParams: the
 * latter writes spaces as `+`, which a server decoding with
 * decodeURIComponent would keep as a literal plus inside the JSON.
 */
export function eventsUrl(
  baseUrl: string,
  query: { clientId: string; token: string | undefined; subscriptions: readonly Subscription[] },
): string {
  const parts = [`clientId=${encodeURIComponent(query.clientId)}`];
  if (query.token !== undefined) parts.push(`token=${encodeURIComponent(query.token)}`);
  for (const s of query.subscriptions) parts.push(`subscribe=${encodeURIComponent(JSON.stringify(s))}`);
  return `${endpoint(baseUrl, '/v1/sync/events')}?${parts.join('&')}`;
}

export function commonHeaders(clientId: string, token: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'X-Client-Id': clientId };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  return headers;
}
