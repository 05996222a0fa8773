import { LocalStoreError } from './errors.ts';

/**
 * One IndexedDB database per user: a sign-out or a user switch must never
 * show one user's rows to the next, and deleting a whole database is the only
 * wipe that cannot leave stragglers behind.
 */
const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * SHA-256 of the user id, first 16 hex chars (64 bits: collisions are not a
 * concern for the few users of one device). Hashing keeps the raw user id
 * (often an email) out of the database name, which devtools show to anyone.
 */
export async function namespaceFor(userId: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(userId));
  let hex = '';
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0');
  return hex.slice(0, 16);
}

export function databaseName(namespace: string): string {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new LocalStoreError('INVALID_NAMESPACE', `namespace must match ${NAMESPACE_PATTERN.source}`);
  }
  return `syncline:${namespace}`;
}

/**
 * Deletes a namespace's database without opening it (e.g. a user who signed
 * out in a tab that never opened the store). Open IdbLocalStore connections
 * close themselves on `versionchange`, so this is not blocked by other tabs.
 */
export function deleteNamespace(indexedDB: IDBFactory, namespace: string): Promise<void> {
  const request = indexedDB.deleteDatabase(databaseName(namespace));
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error ?? new Error('deleteDatabase failed'));
  });
}
