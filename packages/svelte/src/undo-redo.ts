/**
 * `undoRedo()`: the client's undo history for buttons, and `undoShortcuts`
 * for the keyboard: Ctrl/Cmd+Z undoes, Shift+Ctrl/Cmd+Z and Ctrl+Y redo.
 * Keys typed in a text field are left to the field (its own text undo) unless
 * `inTextFields: true`.
 */
import type { SyncClient } from '@syncline/client';
import type { Attachment } from 'svelte/attachments';
import { createSubscriber } from 'svelte/reactivity';
import { getSynclineClient } from './context.ts';

export class UndoRedo {
  private readonly track: () => void;

  constructor(private readonly client: SyncClient) {
    this.track = createSubscriber((update) => client.on('history', update));
  }

  get canUndo(): boolean {
    this.track();
    return this.client.canUndo;
  }

  get canRedo(): boolean {
    this.track();
    return this.client.canRedo;
  }

  /** Sends the inverse of your last mutation; undefined when there is nothing to undo. */
  undo(): Promise<number | undefined> {
    return this.client.undo();
  }

  redo(): Promise<number | undefined> {
    return this.client.redo();
  }
}

export function undoRedo(): UndoRedo {
  return new UndoRedo(getSynclineClient());
}

export interface UndoShortcutsOptions {
  /** Also in inputs, textareas, selects and contenteditable elements (default false). */
  inTextFields?: boolean;
  /** Undo or redo failed (the store refused the mutation…); default: reported to the console. */
  onError?: (error: unknown) => void;
}

/**
 * Keyboard undo/redo for key presses inside the element it is attached to:
 * `<main {@attach undoShortcuts(history)}>` (on a root element for the whole app).
 */
export function undoShortcuts(
  history: Pick<UndoRedo, 'undo' | 'redo'>,
  options: UndoShortcutsOptions = {},
): Attachment<HTMLElement> {
  const onError = options.onError ?? ((e: unknown) => console.error('undo/redo failed', e));
  return (node) => {
    const onKey = (e: KeyboardEvent): void => {
      const action = shortcut(e);
      if (action === undefined || e.defaultPrevented) return;
      if (!options.inTextFields && isTextField(e.target)) return;
      e.preventDefault();
      (action === 'undo' ? history.undo() : history.redo()).catch(onError);
    };
    node.addEventListener('keydown', onKey);
    return () => node.removeEventListener('keydown', onKey);
  };
}

/** Which shortcut a key press is, if any. */
export function shortcut(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>) {
  if (e.altKey || !(e.ctrlKey || e.metaKey)) return undefined;
  const key = e.key.toLowerCase();
  if (key === 'z') return e.shiftKey ? ('redo' as const) : ('undo' as const);
  if (key === 'y' && e.ctrlKey && !e.shiftKey) return 'redo' as const;
  return undefined;
}

function isTextField(target: EventTarget | null): boolean {
  if (typeof HTMLElement === 'undefined' || !(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(type);
}
