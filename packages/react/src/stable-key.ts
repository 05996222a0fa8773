/**
 * Keys for shared resources: the same collection and params, written in any key
 * order, are the same subscription (so two components asking for it share one).
 */
import type { SubscriptionParams } from '@syncline/client';

/** JSON with object keys sorted, so `{ a, b }` and `{ b, a }` give one key. */
export function stableJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

export function subscriptionKey(collection: string, params: SubscriptionParams | undefined): string {
  return `${collection}\u0000${stableJson(params ?? {})}`;
}

/**
 * A subscription id that is the same on every load for the same collection and
 * params, so a reload claims the subscription its store kept (rows at once, resume
 * from the cursor) instead of starting a new one. Ids allow `[A-Za-z0-9_.:-]`, up to 128.
 */
export function defaultSubscriptionId(collection: string, params: SubscriptionParams | undefined): string {
  const name = /^[A-Za-z0-9_.-]{1,80}$/.test(collection) ? collection : `h${hash(collection, 0x811c9dc5)}`;
  if (params === undefined || Object.keys(params).length === 0) return `r:${name}`;
  const json = stableJson(params);
  // Two 32-bit FNV-1a hashes with different seeds: 64 bits, so two param sets do not meet.
  return `r:${name}:${hash(json, 0x811c9dc5)}${hash(json, 0x01000193)}`;
}

function hash(text: string, seed: number): string {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
