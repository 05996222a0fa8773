import { describe, expect, it } from 'vitest';
import { statusOf } from './connection-status.ts';

describe('connection status', () => {
  it('stays offline through reconnect attempts after a drop', () => {
    expect(statusOf('idle')).toBe('connecting');
    expect(statusOf('connecting', 'idle')).toBe('connecting');
    expect(statusOf('open', 'connecting')).toBe('online');
    expect(statusOf('backoff', 'open')).toBe('offline');
    expect(statusOf('connecting', 'backoff')).toBe('offline');
    expect(statusOf('closed', 'open')).toBe('offline');
  });
});
