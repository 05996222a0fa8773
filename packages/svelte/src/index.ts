// Svelte 5 bindings for @syncline/client: objects whose getters are reactive through
// `createSubscriber`, holding client subscriptions only while an effect reads them.
export {
  setSynclineClient,
  getSynclineClient,
  createSyncline,
  type Syncline,
  type SynclineBindingOptions,
} from './context.ts';
export {
  subscription,
  LiveSubscription,
  type LiveStatus,
  type ParamsInput,
  type SubscriptionOptions,
} from './subscription.ts';
export { query, LiveQuery, type QueryTarget, type BuildQuery, type QueryOptions } from './query.ts';
export { mutate, mutator, Mutation } from './mutations.ts';
export { undoRedo, undoShortcuts, UndoRedo, type UndoShortcutsOptions } from './undo-redo.ts';
export { connectionStatus, LiveConnectionStatus, type ConnectionStatus } from './connection-status.ts';
export { draft, Draft } from './draft.ts';
export { presence, LivePresence, type PresenceBroadcast } from './presence.ts';
