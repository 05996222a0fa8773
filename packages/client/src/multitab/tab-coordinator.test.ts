import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MutationBody } from '../mutations/pending-mutations.ts';
import { TabCoordinator, type TabHost } from './tab-coordinator.ts';
import { MemoryTabLocks } from './tab-locks.ts';
import type { TabMessage } from './tab-messages.ts';

/** Lets channel messages and lock grants run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setTimeout(r, 1));
}

/** A host that records what the coordinator asks of it. */
class RecordingHost implements TabHost {
  led: boolean[] = [];
  followed = 0;
  mirrored: TabMessage[] = [];
  subscribed: string[] = [];
  released: string[] = [];
  mutations: Array<{ requestId: string; body: MutationBody }> = [];
  /** What remoteMutate answers; a never-settling promise models a leader about to go. */
  answer: (requestId: string) => Promise<number> = () => Promise.resolve(this.mutations.length);
  local: Array<{ id: string; collection: string }> = [];

  lead = (takeover: boolean) => {
    this.led.push(takeover);
    return Promise.resolve();
  };
  follow = () => void this.followed++;
  failures: unknown[] = [];
  failed = (error: unknown) => void this.failures.push(error);
  connection = () => ({ state: 'open' as const, connectionId: 'conn-1' });
  pendingMirror = () => [];
  remoteSubscribe = (sub: { id: string }) => {
    this.subscribed.push(sub.id);
    return { ok: true as const };
  };
  remoteReleased = (id: string) => void this.released.push(id);
  gone: string[] = [];
  remoteGone = (id: string) => void this.gone.push(id);
  remoteMutate = (requestId: string, body: MutationBody) => {
    this.mutations.push({ requestId, body });
    return this.answer(requestId);
  };
  presences: Array<{ kind: string; body: Record<string, unknown> }> = [];
  remotePresence = (kind: string, body: Record<string, unknown>) => void this.presences.push({ kind, body });
  adoptPending = () => undefined;
  leaderChanges = 0;
  leaderChanged = () => void this.leaderChanges++;
  applyMirror = (m: TabMessage) => void this.mirrored.push(m);
  localSubscriptions = () => this.local;
}

const open: TabCoordinator[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

function tab(name: string, locks: MemoryTabLocks, host = new RecordingHost()) {
  const coordinator = new TabCoordinator({ name, locks, channel: (n) => new BroadcastChannel(n), host });
  open.push(coordinator);
  return { coordinator, host };
}

const body: MutationBody = { ops: [{ type: 'delete', table: 'item', id: 'x' }] };

describe('TabCoordinator', () => {
  it('the first tab leads, the next follows and takes over when the leader closes', async () => {
    const locks = new MemoryTabLocks();
    const a = tab('elect', locks);
    const b = tab('elect', locks);
    await a.coordinator.start();
    await b.coordinator.start();
    expect([a.coordinator.role, b.coordinator.role]).toEqual(['leader', 'follower']);
    expect(a.host.led).toEqual([false]);
    expect(b.host.followed).toBe(1);
    await settle();
    // The follower was welcomed: it mirrors the leader's connection.
    expect(b.host.mirrored).toContainEqual({ t: 'state', connection: { state: 'open', connectionId: 'conn-1' } });

    a.coordinator.close();
    await settle();
    expect(b.coordinator.role).toBe('leader');
    expect(b.host.led).toEqual([true]);
  });

  it("a follower's mutation the leader never answered is queued again by the next leader, under the same request id", async () => {
    const locks = new MemoryTabLocks();
    const a = tab('requests', locks);
    const b = tab('requests', locks);
    const c = tab('requests', locks);
    a.host.answer = () => new Promise<number>(() => undefined); // goes before answering
    c.host.answer = () => Promise.resolve(42);
    for (const t of [a, b, c]) await t.coordinator.start();
    await settle();
    const fromB = b.coordinator.mutate(body);
    await settle();
    expect(a.host.mutations).toHaveLength(1);
    const requestId = a.host.mutations[0]?.requestId;

    a.coordinator.close(); // b is next in line: it leads and queues its own request itself
    await settle();
    expect(b.coordinator.role).toBe('leader');
    expect(b.host.mutations).toEqual([{ requestId, body }]);
    await expect(fromB).resolves.toBe(1);
  });

  it("a follower's request goes to a new leader that did not lead when it was sent", async () => {
    const locks = new MemoryTabLocks();
    const a = tab('resend', locks);
    const b = tab('resend', locks);
    const c = tab('resend', locks);
    a.host.answer = () => new Promise<number>(() => undefined);
    b.host.answer = () => Promise.resolve(7);
    for (const t of [a, b, c]) await t.coordinator.start();
    await settle();
    const fromC = c.coordinator.mutate(body);
    await settle();
    a.coordinator.close();
    await settle();
    expect(b.coordinator.role).toBe('leader');
    expect(b.host.mutations.map((m) => m.requestId)).toEqual(a.host.mutations.map((m) => m.requestId));
    await expect(fromC).resolves.toBe(7);
  });

  it("tracks which followers want a subscription: the last unsubscribe releases it, a closed tab's stays parked", async () => {
    const locks = new MemoryTabLocks();
    const a = tab('interest', locks);
    const b = tab('interest', locks);
    const c = tab('interest', locks);
    for (const t of [a, b, c]) await t.coordinator.start();
    b.coordinator.subscribe({ id: 's1', collection: 'items' });
    c.coordinator.subscribe({ id: 's1', collection: 'items' });
    c.coordinator.subscribe({ id: 's2', collection: 'items' });
    await settle();
    expect(a.host.subscribed).toEqual(['s1', 's1', 's2']);
    b.coordinator.unsubscribe('s1');
    await settle();
    expect(a.host.released).toEqual([]);
    expect(a.coordinator.hasRemoteInterest('s1')).toBe(true);
    c.coordinator.unsubscribe('s1');
    await settle();
    expect(a.host.released).toEqual(['s1']);

    // c's tab goes without unsubscribing: s2 is no longer wanted by it, but kept for a reload to resume.
    c.coordinator.close();
    await settle();
    expect(a.coordinator.hasRemoteInterest('s2')).toBe(false);
    expect(a.host.released).toEqual(['s1']);
    expect(a.host.gone).toEqual(['s2']);
  });

  it("a follower's presence goes out on the leader's connection; its tab gone, it leaves after a grace period unless a reload comes back with its key", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'], shouldAdvanceTime: true });
    try {
      const locks = new MemoryTabLocks();
      const a = tab('presence', locks);
      const b = tab('presence', locks);
      const c = tab('presence', locks);
      for (const t of [a, b, c]) await t.coordinator.start();
      b.coordinator.presence('set', { room: 'lobby', state: { tab: 'b' }, key: 'kb' });
      c.coordinator.presence('set', { room: 'lobby', state: { tab: 'c' }, key: 'kc' });
      await settle();
      expect(a.host.presences.map((p) => p.body['key'])).toEqual(['kb', 'kc']);

      b.coordinator.close();
      c.coordinator.close();
      await settle();
      // c reloads: a new tab with c's key joins again within the grace period.
      const c2 = tab('presence', locks);
      await c2.coordinator.start();
      c2.coordinator.presence('set', { room: 'lobby', state: { tab: 'c' }, key: 'kc' });
      await settle();
      vi.advanceTimersByTime(3_100);
      await settle();
      const leaves = a.host.presences.filter((p) => p.kind === 'leave').map((p) => p.body);
      expect(leaves).toEqual([{ room: 'lobby', key: 'kb' }]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a follower announces its subscriptions to a new leader', async () => {
    const locks = new MemoryTabLocks();
    const a = tab('announce', locks);
    const b = tab('announce', locks);
    const c = tab('announce', locks);
    c.host.local = [{ id: 'mine', collection: 'items' }];
    for (const t of [a, b, c]) await t.coordinator.start();
    await settle();
    // Announced at each welcome (a `leader` message racing the first join can bring two: subscribing is idempotent).
    expect(new Set(a.host.subscribed)).toEqual(new Set(['mine']));
    a.coordinator.close();
    await settle();
    expect(new Set(b.host.subscribed)).toEqual(new Set(['mine']));
  });

  it('a tab that cannot lead (its storage fails) gives up its part, and the next tab leads', async () => {
    const locks = new MemoryTabLocks();
    const a = tab('failing', locks);
    const b = tab('failing', locks);
    await a.coordinator.start();
    await b.coordinator.start();
    b.host.lead = () => Promise.reject(new Error('IndexedDB is gone'));
    const c = tab('failing', locks);
    await c.coordinator.start();
    a.coordinator.close();
    await settle();
    expect(b.coordinator.role).toBe('closed');
    expect(b.host.failures).toHaveLength(1);
    expect(c.coordinator.role).toBe('leader');
  });
});
