export {
  synclineCollectionOptions,
  type SynclineCollectionOptions,
  type SynclineCollectionUtils,
} from './syncline-collection-options.ts';
