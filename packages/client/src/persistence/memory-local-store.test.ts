import { runLocalStoreSuite } from './local-store-suite.ts';
import { MemoryDatabases, MemoryLocalStore } from './memory-local-store.ts';

runLocalStoreSuite('MemoryLocalStore', () => {
  const databases = new MemoryDatabases();
  return {
    open: (options, fault) =>
      MemoryLocalStore.open({ ...options, databases, ...(fault ? { beforeStep: (_write, step) => fault(step) } : {}) }),
  };
});
