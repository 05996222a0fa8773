import { useCallback, useEffect, useState } from 'react';
import type { JsonValue } from '@syncline/protocol';
import { useSyncClient } from './provider.ts';

/**
 * `const [draft, setDraft] = useDraft<Form>('new-order')`: unsaved form state kept in the
 * client's store (it survives a remount and a reload). `draft` is undefined until it is
 * read from the store, and when there is none. `setDraft(undefined)` clears it. Writes go
 * straight to the store: debounce keystrokes if they are many. Needs a provider with a store.
 */
export function useDraft<T extends JsonValue = JsonValue>(
  key: string,
): [T | undefined, (value: T | undefined) => Promise<void>] {
  const drafts = useSyncClient().drafts;
  if (!drafts) throw new Error('useDraft needs a client with a store (SynclineProvider options.store)');
  const [value, setValue] = useState<{ key: string; value: T | undefined }>({ key, value: undefined });
  useEffect(() => {
    let latest = 0; // a read that started before a later change must not overwrite it
    const load = () => {
      const n = ++latest;
      drafts.get<T>(key).then(
        (stored) => n === latest && setValue({ key, value: stored }),
        () => undefined, // unreadable: stays as it is; the client reports storage errors
      );
    };
    load();
    return drafts.on('change', (changed) => changed === key && load());
  }, [drafts, key]);
  const set = useCallback(
    (next: T | undefined) => {
      setValue({ key, value: next }); // at once; the store's change event confirms it
      return next === undefined ? drafts.clear(key) : drafts.set(key, next);
    },
    [drafts, key],
  );
  return [value.key === key ? value.value : undefined, set];
}
