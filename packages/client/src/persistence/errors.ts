/**
 * Typed errors so the app can tell "you have too much unsent work" apart from
 * a storage failure (`instanceof` or `code`).
 */
import { SyncError } from '../store/sync-error.ts';

export type LocalStoreErrorCode =
  | 'CLOSED'
  | 'SCHEMA_TOO_NEW'
  | 'OUTBOX_FULL'
  | 'DUPLICATE_MUTATION'
  | 'DRAFTS_FULL'
  | 'DRAFT_TOO_LARGE'
  | 'INVALID_DRAFT_KEY'
  | 'INVALID_DRAFT_VALUE'
  | 'UNKNOWN_SUBSCRIPTION'
  | 'INVALID_NAMESPACE';

/** A local store's refusal or failure: one of the client's SyncErrors (see store/sync-error.ts). */
export class LocalStoreError extends SyncError {
  declare readonly code: LocalStoreErrorCode;

  constructor(code: LocalStoreErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, undefined, options);
    this.name = 'LocalStoreError';
  }
}

export class OutboxFullError extends LocalStoreError {
  constructor(readonly limit: number) {
    super('OUTBOX_FULL', `the outbox holds its maximum of ${limit} pending mutations`);
    this.name = 'OutboxFullError';
  }
}

export class DuplicateMutationError extends LocalStoreError {
  constructor(
    readonly mutationId: number,
    why = 'is already in the outbox',
  ) {
    super('DUPLICATE_MUTATION', `mutation ${mutationId} ${why}`);
    this.name = 'DuplicateMutationError';
  }
}

export class DraftsFullError extends LocalStoreError {
  constructor(readonly limit: number) {
    super('DRAFTS_FULL', `at most ${limit} drafts are kept`);
    this.name = 'DraftsFullError';
  }
}

export class DraftTooLargeError extends LocalStoreError {
  constructor(
    readonly key: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super('DRAFT_TOO_LARGE', `draft "${key}" is ${bytes} bytes, the limit is ${limit}`);
    this.name = 'DraftTooLargeError';
  }
}

export class InvalidDraftKeyError extends LocalStoreError {
  constructor(readonly key: unknown) {
    super('INVALID_DRAFT_KEY', 'a draft key is a non-empty string of at most 256 characters');
    this.name = 'InvalidDraftKeyError';
  }
}

export class UnknownSubscriptionError extends LocalStoreError {
  constructor(readonly subscriptionId: string) {
    super('UNKNOWN_SUBSCRIPTION', `subscription "${subscriptionId}" is not stored; put it first`);
    this.name = 'UnknownSubscriptionError';
  }
}
