/**
 * The client's choice between WebSocket and SSE, driven end to end through a
 * SyncClient: a fake WebSocket class, the fake HTTP server (which also answers
 * the `GET /v1/health` probe) and fake timers; Date is faked only for the
 * "try WebSocket again after N minutes" clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flush, sse } from '../testing/fake-server.ts';
import { setupClient } from '../testing/setup-client.ts';
import type { WebSocketConstructor, WebSocketLike } from './ws-stream.ts';

type Behaviour = 'refuse' | 'silent' | 'accept' | 'auth-fail';

/**
 * Each socket does what `FakeWs.next` says when it is created: refused (closes
 * 1006 without opening), silent (opens, as a proxy would, but no frame comes
 * through before it closes), accepted (HELLO), or AUTH_FAILED and closed.
 */
class FakeWs implements WebSocketLike {
  static next: Behaviour = 'refuse';
  static made: FakeWs[] = [];
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: unknown[] = [];

  constructor(readonly url: string) {
    FakeWs.made.push(this);
    const behaviour = FakeWs.next;
    setTimeout(() => {
      if (behaviour === 'refuse') return this.drop(1006);
      this.readyState = 1;
      this.onopen?.({});
      if (behaviour === 'silent') return this.drop(1006);
      if (behaviour === 'auth-fail') {
        this.frame({ type: 'ERROR', code: 'AUTH_FAILED', message: 'bad token' });
        return this.drop(1008);
      }
      this.frame({ type: 'HELLO', connectionId: `ws-${FakeWs.made.length}`, protocol: 1, heartbeatMs: 0 });
    }, 0);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000): void {
    this.drop(code);
  }

  frame(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  drop(code: number): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

function wsClient() {
  FakeWs.made = [];
  FakeWs.next = 'refuse';
  // A token function: an AUTH_FAILED close asks it again instead of stopping the client.
  const t = setupClient({ WebSocket: FakeWs as unknown as WebSocketConstructor, transport: 'ws', token: () => 'tok' });
  const events = () => t.server.gets.filter((r) => r.url.pathname.endsWith('/v1/sync/events'));
  const probes = () => t.server.gets.filter((r) => r.url.pathname.endsWith('/v1/health'));
  /** Waits out the backoff after a failed attempt: the next attempt starts. */
  const nextAttempt = async () => {
    await flush();
    t.timers.advance(t.timers.pending()[0] ?? 0);
    await flush();
  };
  return { ...t, events, probes, nextAttempt };
}

afterEach(() => vi.useRealTimers());

describe('WebSocket, SSE only where WebSocket is blocked', () => {
  it('a server that is down (the upgrade and the probe both fail) keeps the client on WebSocket when it is back', async () => {
    const t = wsClient();
    t.server.health = () => Promise.reject(new TypeError('connect ECONNREFUSED'));
    t.client.subscribe({ id: 'a', collection: 'orders' });
    for (let i = 0; i < 6; i++) await t.nextAttempt();
    expect(FakeWs.made.length).toBeGreaterThanOrEqual(6);
    expect(t.probes().length).toBe(FakeWs.made.length); // one per socket that never opened
    expect(t.events()).toEqual([]); // never tried SSE
    t.server.health = () => Response.json({ status: 'ok' });
    FakeWs.next = 'accept';
    await t.nextAttempt();
    expect(t.client.state).toBe('open');
    expect(t.client.transport).toBe('ws');
    expect(FakeWs.made.at(-1)?.sent).toContainEqual({
      type: 'SUBSCRIBE',
      subscription: { id: 'a', collection: 'orders' },
    });
  });

  it('a proxy answering the probe with its own 503 page is no evidence either', async () => {
    const t = wsClient();
    t.server.health = () => new Response('<h1>502 Bad Gateway</h1>', { status: 503 });
    t.client.subscribe({ id: 'a', collection: 'orders' });
    for (let i = 0; i < 4; i++) await t.nextAttempt();
    expect(t.probes().length).toBeGreaterThanOrEqual(4);
    expect(t.events()).toEqual([]);
    expect(t.client.transport).toBe('ws');
  });

  it('a frame from the server, even an AUTH_FAILED before hello, proves WebSocket gets through', async () => {
    const t = wsClient();
    FakeWs.next = 'auth-fail';
    t.client.subscribe({ id: 'a', collection: 'orders' });
    for (let i = 0; i < 4; i++) await t.nextAttempt();
    expect(FakeWs.made.length).toBeGreaterThanOrEqual(4);
    expect(t.probes()).toEqual([]);
    expect(t.events()).toEqual([]);
  });

  it('a proxy that accepts the upgrade but passes nothing is blocking too', async () => {
    const t = wsClient();
    FakeWs.next = 'silent';
    t.client.subscribe({ id: 'a', collection: 'orders' });
    await t.nextAttempt();
    await t.nextAttempt();
    expect(FakeWs.made).toHaveLength(2);
    expect(t.probes()).toHaveLength(2);
    expect(t.events()).toHaveLength(1);
    t.hello('sse-1');
    await flush();
    expect(t.client.transport).toBe('sse');
  });

  it('blocked (sockets never open while the server answers HTTP): SSE after two, then WebSocket again on a reconnect after the wait', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 0 });
    const t = wsClient();
    const sub = t.client.subscribe({ id: 'a', collection: 'orders' });
    await t.nextAttempt(); // WebSocket 1 refused, probe answered
    await t.nextAttempt(); // WebSocket 2 refused, probe answered: fall back
    expect(FakeWs.made).toHaveLength(2);
    expect(t.probes()).toHaveLength(2);
    expect(t.events()).toHaveLength(1);
    t.hello('sse-1');
    t.server.stream.push(
      sse('snapshot', {
        subscription: 'a',
        table: 'public.orders',
        rows: [{ key: 'k', row: { k: 1 }, version: 1 }],
        cursor: '0/0000000a',
        done: true,
      }),
    );
    await flush();
    expect(t.client.transport).toBe('sse');
    expect(sub.rows()).toEqual([{ k: 1 }]);

    // A reconnect before the wait is over stays on SSE.
    vi.setSystemTime(2 * 60_000 - 1);
    t.server.stream.end();
    await t.nextAttempt();
    expect(FakeWs.made).toHaveLength(2);
    expect(t.events()).toHaveLength(2);
    t.hello('sse-2');
    await flush();

    // The first reconnect after it tries WebSocket once; still refused: back to SSE, next wait doubled.
    vi.setSystemTime(2 * 60_000);
    t.server.stream.end();
    await t.nextAttempt();
    expect(FakeWs.made).toHaveLength(3);
    await t.nextAttempt();
    expect(t.events()).toHaveLength(3);
    expect(t.client.transport).toBe('sse');
    t.hello('sse-3');
    await flush();

    // The proxy lets WebSocket through now: the next try after 4 more minutes stays on it.
    FakeWs.next = 'accept';
    vi.setSystemTime(6 * 60_000);
    t.server.stream.end();
    await t.nextAttempt();
    expect(FakeWs.made).toHaveLength(4);
    expect(t.client.state).toBe('open');
    expect(t.client.transport).toBe('ws');
    expect(t.client.connectionId).toBe('ws-4');
    // Resumes from its cursor over WebSocket.
    expect(FakeWs.made[3]?.sent).toContainEqual({
      type: 'SUBSCRIBE',
      subscription: { id: 'a', collection: 'orders', cursor: '0/0000000a' },
    });
  });
});
