import { runLocalStoreSuite } from './local-store-suite.ts';
import { MemoryDatabases, MemoryLocalStore } from './memory-local-store.ts';

runLocalStoreSuite('MemoryLocalStore', () => {
  const databases = new MemoryDatabases();
  return { open: (options) => MemoryLocalStore.open({ ...options, databases }) };
});
