// React bindings for @syncline/client: thin observers over useSyncExternalStore.
export { SynclineProvider, useSyncClient, type SynclineProviderProps } from './provider.ts';
export { useSubscription, type UseSubscriptionOptions } from './use-subscription.ts';
export type { SubscriptionSnapshot, SubscriptionState } from './shared-subscription.ts';
export { useQuery, type QueryTarget } from './use-query.ts';
export { useMutate, useMutator } from './use-mutate.ts';
export type { MutationState } from './mutation-tracker.ts';
export { useUndoRedo, useUndoShortcuts, type UndoRedo, type UndoShortcutOptions } from './use-undo-redo.ts';
export { useConnectionStatus, type ConnectionStatus } from './use-connection-status.ts';
export { useDraft } from './use-draft.ts';
export { usePresence } from './use-presence.ts';
