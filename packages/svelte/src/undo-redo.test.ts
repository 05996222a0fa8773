import { describe, expect, it } from 'vitest';
import { shortcut } from './undo-redo.ts';

const key = (k: string, mods: Partial<Record<'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey', boolean>> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  ...mods,
});

describe('undo shortcuts', () => {
  it('Ctrl/Cmd+Z undoes; Shift+Ctrl/Cmd+Z and Ctrl+Y redo; nothing else does', () => {
    expect(shortcut(key('z', { ctrlKey: true }))).toBe('undo');
    expect(shortcut(key('z', { metaKey: true }))).toBe('undo');
    expect(shortcut(key('Z', { ctrlKey: true, shiftKey: true }))).toBe('redo');
    expect(shortcut(key('Z', { metaKey: true, shiftKey: true }))).toBe('redo');
    expect(shortcut(key('y', { ctrlKey: true }))).toBe('redo');
    expect(shortcut(key('y', { metaKey: true }))).toBeUndefined(); // Cmd+Y is the browser's history
    expect(shortcut(key('z'))).toBeUndefined();
    expect(shortcut(key('z', { ctrlKey: true, altKey: true }))).toBeUndefined();
  });
});
