export { startSyncline, type SynclineServer } from './server.ts';
export { createSyncline, type MountOptions, type Syncline } from './mount.ts';
export { DEFAULT_LIMITS, type AllLimits, type SynclineLimits, type SynclineOptions } from './config.ts';
export { defineCollections, type CollectionDefinition } from './collections/collection-config.ts';
export type { Filter, ValueRef, Scalar } from './collections/filter/filter-types.ts';
export {
  startEmbeddedPostgres,
  type EmbeddedPostgresOptions,
  type RunningPostgres,
} from './setup/embedded-postgres.ts';
export { SetupError, SynclineError } from './util/errors.ts';
export { signToken } from './auth/sign-token.ts';
export type { AuthOptions, Identity } from './auth/token-verifier.ts';
export type { DbSessionOptions } from './auth/user-transaction.ts';
export type { AccessContext, AccessRule } from './collections/collection-config.ts';
export { defineMutator, type Mutator, type MutatorFn, type MutatorTx, type MutatorUser } from './writes/mutators.ts';
export { tagTransaction, type TagInput } from './writes/origin-tag.ts';
export type { TableWriteRules, WriteRule, WriteRuleContext } from './writes/write-rules.ts';
export { guardPool } from './util/guard-pool.ts';
export { defineRooms, type RoomDefinition } from './presence/room-definition.ts';
export { DEFAULT_PRESENCE_LIMITS, type PresenceLimits } from './presence/presence-limits.ts';
