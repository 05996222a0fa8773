import { useCallback, useEffect, useSyncExternalStore } from 'react';
import type { SyncClient } from '@syncline/client';
import { useSyncClient } from './provider.ts';

export interface UndoRedo {
  /** Sends the inverse of this tab's last mutation; resolves with its id, or undefined if there was none. */
  undo(): Promise<number | undefined>;
  redo(): Promise<number | undefined>;
  canUndo: boolean;
  canRedo: boolean;
}

// One snapshot object per (client, canUndo, canRedo): React compares snapshots by identity.
const snapshots = new WeakMap<SyncClient, UndoRedo[]>();

function snapshotOf(client: SyncClient): UndoRedo {
  let four = snapshots.get(client);
  if (!four) {
    const undo = () => client.undo();
    const redo = () => client.redo();
    four = [false, true].flatMap((canUndo) => [false, true].map((canRedo) => ({ undo, redo, canUndo, canRedo })));
    snapshots.set(client, four);
  }
  return four[(client.canUndo ? 2 : 0) + (client.canRedo ? 1 : 0)] as UndoRedo;
}

/** `{ undo, redo, canUndo, canRedo }`, re-rendering when undo or redo becomes (un)available. */
export function useUndoRedo(): UndoRedo {
  const client = useSyncClient();
  const subscribe = useCallback((onChange: () => void) => client.on('history', onChange), [client]);
  const read = () => snapshotOf(client);
  return useSyncExternalStore(subscribe, read, read);
}

export interface UndoShortcutOptions {
  /** Also inside inputs, textareas and contenteditable (where the browser's own undo is expected). Default false. */
  inInputs?: boolean;
}

/**
 * Opt-in keyboard undo: Ctrl/Cmd+Z undoes, Shift+Ctrl/Cmd+Z and Ctrl+Y redo, listening on
 * `document` while the calling component is mounted. Not inside text fields unless `inInputs`.
 */
export function useUndoShortcuts(options: UndoShortcutOptions = {}): void {
  const client = useSyncClient();
  const inInputs = options.inInputs === true;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = shortcutOf(e);
      if (!action || e.defaultPrevented || (!inInputs && isTextField(e.target))) return;
      e.preventDefault();
      // A refused undo (CONFLICT) comes as the client's 'rejected' event; nothing to do with it here.
      (action === 'undo' ? client.undo() : client.redo()).catch(() => undefined);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [client, inInputs]);
}

function shortcutOf(e: KeyboardEvent): 'undo' | 'redo' | undefined {
  if (e.altKey || !(e.ctrlKey || e.metaKey)) return undefined;
  const key = e.key.toLowerCase();
  if (key === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (key === 'y' && e.ctrlKey && !e.shiftKey) return 'redo';
  return undefined;
}

function isTextField(target: EventTarget | null): boolean {
  const el = target as {
    tagName?: string;
    isContentEditable?: boolean;
    type?: string;
    closest?: (selector: string) => unknown;
  } | null;
  if (!el || typeof el.tagName !== 'string') return false;
  if (el.isContentEditable === true || el.closest?.('[contenteditable]:not([contenteditable="false"])')) return true;
  const tag = el.tagName.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file'].includes(el.type ?? 'text');
}
