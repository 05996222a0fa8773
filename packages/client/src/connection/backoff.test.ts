import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';
import { ConnectionMachine, TRANSITIONS } from './connection-state.ts';

describe('Backoff', () => {
  it('doubles the ceiling from 250 ms up to the 10 s cap, with full jitter', () => {
    const top = new Backoff(undefined, () => 0.999999);
    const ceilings = Array.from({ length: 10 }, () => {
      const ceiling = top.ceiling();
      expect(top.next()).toBe(ceiling - 1);
      return ceiling;
    });
    expect(ceilings).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000]);

    const zero = new Backoff(undefined, () => 0);
    expect([zero.next(), zero.next(), zero.next()]).toEqual([0, 0, 0]);

    const half = new Backoff(undefined, () => 0.5);
    expect(Array.from({ length: 8 }, () => half.next())).toEqual([125, 250, 500, 1000, 2000, 4000, 5000, 5000]);
    half.reset();
    expect(half.next()).toBe(125);
  });

  it('stays finite after very many attempts', () => {
    const b = new Backoff(undefined, () => 0.5);
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).toBe(5000);
  });
});

describe('ConnectionMachine', () => {
  it('follows the table and refuses transitions it does not list', () => {
    const m = new ConnectionMachine();
    expect(m.send('hello')).toBe(false);
    expect(m.state).toBe('idle');
    expect(m.send('start')).toBe(true);
    expect(m.send('hello')).toBe(true);
    expect(m.state).toBe('open');
    expect(m.send('retry')).toBe(false);
    expect(m.send('drop')).toBe(true);
    expect(m.state).toBe('backoff');
    expect(m.send('close')).toBe(true);
    expect(m.send('close')).toBe(false);
    expect(m.state).toBe('closed');
    expect(Object.keys(TRANSITIONS.closed)).toEqual([]);
  });
});
