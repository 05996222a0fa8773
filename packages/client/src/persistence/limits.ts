import type { JsonValue } from '@syncline/protocol';
import { DraftTooLargeError, InvalidDraftKeyError, LocalStoreError } from './errors.ts';
import type { LocalStoreLimits } from './local-store.ts';

export const DEFAULT_MAX_OUTBOX = 10_000;
export const DEFAULT_MAX_DRAFTS = 1_000;
export const DEFAULT_MAX_DRAFT_BYTES = 256 * 1024;
export const MAX_DRAFT_KEY_LENGTH = 256;

export type ResolvedLimits = Required<LocalStoreLimits>;

export function resolveLimits(limits: LocalStoreLimits): ResolvedLimits {
  return {
    maxOutbox: limits.maxOutbox ?? DEFAULT_MAX_OUTBOX,
    maxDrafts: limits.maxDrafts ?? DEFAULT_MAX_DRAFTS,
    maxDraftBytes: limits.maxDraftBytes ?? DEFAULT_MAX_DRAFT_BYTES,
  };
}

const encoder = new TextEncoder();

/**
 * Checked before any storage call, identically by both stores. Size is the
 * UTF-8 length of the JSON text: a stable, engine-independent measure (the
 * real on-disk cost of structured clone is not observable).
 */
export function checkDraft(key: string, value: JsonValue, limits: ResolvedLimits): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_DRAFT_KEY_LENGTH) {
    throw new InvalidDraftKeyError(key);
  }
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new LocalStoreError('INVALID_DRAFT_VALUE', `draft "${key}" is not JSON`);
  const bytes = encoder.encode(json).byteLength;
  if (bytes > limits.maxDraftBytes) throw new DraftTooLargeError(key, bytes, limits.maxDraftBytes);
}
