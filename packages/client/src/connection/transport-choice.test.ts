import { describe, expect, it } from 'vitest';
import { TransportChoice } from './transport-choice.ts';

const MIN = 60_000;

function choice() {
  const clock = { now: 0 };
  return { clock, choice: new TransportChoice({ now: () => clock.now }) };
}

describe('TransportChoice', () => {
  it('a server that is down (WebSocket and the probe both fail) never moves it off WebSocket', () => {
    const { choice: c } = choice();
    for (let i = 0; i < 50; i++) {
      expect(c.next()).toBe('ws');
      c.wsFailed(false);
    }
    expect(c.current).toBe('ws');
  });

  it('falls back after two strikes in a row; a socket that opens in between clears them, a down server counts nothing', () => {
    const { choice: c } = choice();
    c.next();
    c.wsFailed(true);
    c.wsHeard(); // e.g. an AUTH_FAILED close: the upgrade got through
    c.next();
    c.wsFailed(true);
    c.next();
    c.wsFailed(false); // the server went down meanwhile: neither a strike nor a clean slate
    expect(c.next()).toBe('ws');
    c.wsFailed(true);
    expect(c.next()).toBe('sse');
    expect(c.wsRetryAt).toBe(2 * MIN);
  });

  it('tries WebSocket again at the first attempt after the wait; one strike goes back, the wait doubling to 30 minutes', () => {
    const { clock, choice: c } = choice();
    const fallBack = () => {
      c.next();
      c.wsFailed(true);
      c.next();
      c.wsFailed(true);
    };
    fallBack();
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const at = c.wsRetryAt!;
      waits.push(at - clock.now);
      clock.now = at - 1;
      expect(c.next()).toBe('sse'); // a reconnect before the time stays on SSE
      clock.now = at;
      expect(c.next()).toBe('ws');
      c.wsFailed(true);
      expect(c.current).toBe('sse');
    }
    expect(waits.map((w) => w / MIN)).toEqual([2, 4, 8, 16, 30, 30]);
  });

  it('a try that opens stays on WebSocket and resets the wait; a try that meets a down server keeps trying WebSocket', () => {
    const { clock, choice: c } = choice();
    const fallBack = () => {
      c.next();
      c.wsFailed(true);
      c.next();
      c.wsFailed(true);
    };
    fallBack();
    clock.now = c.wsRetryAt!;
    expect(c.next()).toBe('ws');
    c.wsFailed(false); // the server is down right now: no evidence either way
    expect(c.next()).toBe('ws');
    c.wsHeard();
    expect(c.next()).toBe('ws');
    fallBack();
    expect(c.wsRetryAt! - clock.now).toBe(2 * MIN);
  });
});
