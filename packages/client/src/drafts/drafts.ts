import type { JsonValue } from '@syncline/protocol';
import { Emitter } from '../store/emitter.ts';
import type { LocalStore } from '../persistence/local-store.ts';

export interface DraftsEvents {
  /** The key whose draft was set or cleared (by this instance). */
  change: string;
}

/**
 * Unsaved form state, persisted per key so a reload (or a crash) does not
 * lose what the user typed. A thin layer over LocalStore.drafts: the store
 * enforces the limits (DraftsFullError, DraftTooLargeError,
 * InvalidDraftKeyError), this adds change notifications for the UI.
 *
 * Writes go straight through; debounce keystrokes in the app if needed.
 */
export class Drafts {
  private readonly emitter: Emitter<DraftsEvents>;

  constructor(
    private readonly store: LocalStore,
    reportError?: (error: unknown) => void,
  ) {
    this.emitter = new Emitter<DraftsEvents>(reportError);
  }

  /** The stored value, unchecked: T is the caller's claim about its own drafts. */
  async get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined> {
    const record = await this.store.drafts.get(key);
    return record?.value as T | undefined;
  }

  async set(key: string, value: JsonValue): Promise<void> {
    await this.store.drafts.put(key, value);
    this.emitter.emit('change', key);
  }

  /** No event if there was nothing to clear. */
  async clear(key: string): Promise<void> {
    if (await this.store.drafts.delete(key)) this.emitter.emit('change', key);
  }

  keys(): Promise<string[]> {
    return this.store.drafts.keys();
  }

  on<K extends keyof DraftsEvents>(event: K, listener: (payload: DraftsEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** Drops all listeners; the drafts stay stored. */
  dispose(): void {
    this.emitter.clear();
  }
}
