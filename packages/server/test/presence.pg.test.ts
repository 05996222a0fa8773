/**
 * Presence on one node, over real WebSocket and SSE streams and a real
 * PostgreSQL (the access rules read it): members see each other's state,
 * updates and leaves; access is checked at join and, for an `exists` rule,
 * again whenever its table changes; a reload within the grace period shows
 * no leave; two tabs of one user are one key with two metas; and every bound
 * answers with its code and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { presenceView, statesOf } from './presence-view.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';
import { WsReader, wsUrl } from './ws-reader.ts';

const GRACE_MS = 600;

describe('presence on one node', () => {
  let db: TestDatabase;
  let server: SynclineServer;
  const open: Array<{ close(): void }> = [];
  beforeAll(async () => {
    db = await createTestDatabase(`${SCHEMA}
      CREATE TABLE team_member (team_id text, user_id text, version integer NOT NULL DEFAULT 1, PRIMARY KEY (team_id, user_id));
      INSERT INTO team_member (team_id, user_id) VALUES ('t1', 'alice'), ('t1', 'bob');`);
    server = await startTestServer(db, COLLECTIONS, {
      rooms: [
        {
          name: 'team:{teamId}',
          access: {
            exists: {
              table: 'team_member',
              filter: { and: [{ eq: ['team_id', { param: 'teamId' }] }, { eq: ['user_id', { claim: 'sub' }] }] },
            },
          },
        },
        { name: 'lobby' },
        { name: 'open:{name}' },
        { name: 'admins', access: ({ claims }) => claims['role'] === 'admin' },
      ],
      limits: {
        presenceGraceMs: GRACE_MS,
        presenceRoomsPerConnection: 3,
        presenceMembersListed: 4,
        presenceUpdatesPerSecond: 5,
      },
    });
  });
  afterAll(async () => {
    for (const r of open) r.close();
    await server?.stop();
    await db?.drop();
  });

  const ws = async (user: string, clientId = `${user}-${Math.random().toString(36).slice(2)}`, claims = {}) => {
    const r = new WsReader(wsUrl(server.url, clientId, testToken(user, claims)));
    open.push(r);
    await r.until((x) => x.of('hello').length === 1);
    return r;
  };
  const join = (r: WsReader, room: string, state: unknown, key?: string) =>
    r.send({ type: 'PRESENCE_SET', room, state, ...(key !== undefined ? { key } : {}) });
  const errorFor = (r: WsReader, room: string) => r.of('error').filter((e) => e.data.room === room);

  it('two members see each other, their updates and their leave; one without access is refused; revoked access leaves live', async () => {
    const alice = await ws('alice');
    const bob = await ws('bob');
    join(alice, 'team:t1', { typing: false });
    await alice.until((r) => presenceView(r, 'team:t1').users.has('alice'), 5_000, 'alice sees herself');
    join(bob, 'team:t1', { typing: false });
    await alice.until((r) => presenceView(r, 'team:t1').users.has('bob'), 5_000, 'alice sees bob');
    expect(statesOf(presenceView(bob, 'team:t1'), 'alice')).toEqual([{ typing: false }]);

    join(bob, 'team:t1', { typing: true });
    await alice.until((r) => statesOf(presenceView(r, 'team:t1'), 'bob')[0]?.['typing' as never] === true);

    const carol = await ws('carol');
    join(carol, 'team:t1', {});
    await carol.until((r) => errorFor(r, 'team:t1').length === 1);
    expect(errorFor(carol, 'team:t1')[0]?.data.code).toBe('FORBIDDEN');
    expect(presenceView(carol, 'team:t1').users.size).toBe(0);
    expect(presenceView(alice, 'team:t1').users.has('carol')).toBe(false);

    // Bob is removed from the team in SQL: he leaves at once (no grace), and is told.
    await db.query(`DELETE FROM team_member WHERE team_id = 't1' AND user_id = 'bob'`);
    await alice.until((r) => !presenceView(r, 'team:t1').users.has('bob'), 5_000, 'bob gone for alice');
    await bob.until((r) => errorFor(r, 'team:t1').some((e) => e.data.code === 'FORBIDDEN'));
    await db.query(`INSERT INTO team_member (team_id, user_id) VALUES ('t1', 'bob')`);

    // A leave is seen by the others.
    alice.send({ type: 'PRESENCE_LEAVE', room: 'team:t1' });
    const carolInLobby = await ws('carol');
    join(carolInLobby, 'lobby', {});
    join(alice, 'lobby', { here: 1 });
    await carolInLobby.until((r) => presenceView(r, 'lobby').users.has('alice'));
    alice.send({ type: 'PRESENCE_LEAVE', room: 'lobby' });
    await carolInLobby.until((r) => !presenceView(r, 'lobby').users.has('alice'), 5_000, 'alice left the lobby');

    // A function rule: only admins.
    const admin = await ws('dave', undefined, { role: 'admin' });
    join(admin, 'admins', {});
    await admin.until((r) => presenceView(r, 'admins').users.has('dave'));
    join(carolInLobby, 'admins', {});
    await carolInLobby.until((r) => errorFor(r, 'admins').length === 1);
    expect(errorFor(carolInLobby, 'admins')[0]?.data.code).toBe('FORBIDDEN');
    // A refreshed token without the role: the function rule is checked again, and dave leaves.
    join(carolInLobby, 'lobby', {});
    await carolInLobby.until((r) => presenceView(r, 'lobby').users.size >= 1);
    const watchAdmins = await ws('eve', undefined, { role: 'admin' });
    join(watchAdmins, 'admins', {});
    await watchAdmins.until((r) => presenceView(r, 'admins').users.has('dave'));
    admin.send({ type: 'TOKEN_REFRESH', token: testToken('dave', { role: 'user' }) });
    await admin.until((r) => errorFor(r, 'admins').some((e) => e.data.code === 'FORBIDDEN'));
    await watchAdmins.until((r) => !presenceView(r, 'admins').users.has('dave'), 5_000, 'dave left the admins');
  });

  it('a reload within the grace period shows no leave; a closed tab leaves after it; two tabs are one key with two metas', async () => {
    const watcher = await ws('watcher');
    join(watcher, 'open:reload', {});
    // Two tabs of erin: one user, two metas.
    const tab1 = await ws('erin', 'erin-tab-1');
    const tab2 = await ws('erin', 'erin-tab-2');
    join(tab1, 'open:reload', { tab: 1 }, 'tab-1');
    join(tab2, 'open:reload', { tab: 2 }, 'tab-2');
    await watcher.until((r) => presenceView(r, 'open:reload').users.get('erin')?.size === 2, 5_000, 'two metas');

    // Tab 1 reloads: a new connection with the same tab key, within the grace period.
    const diffsBefore = presenceView(watcher, 'open:reload').leaves.length;
    tab1.close();
    await new Promise((r) => setTimeout(r, GRACE_MS / 3));
    const again = await ws('erin', 'erin-tab-1');
    join(again, 'open:reload', { tab: 1 }, 'tab-1');
    await again.until((r) => presenceView(r, 'open:reload').users.get('erin')?.size === 2);
    await new Promise((r) => setTimeout(r, GRACE_MS * 2));
    const view = presenceView(watcher, 'open:reload');
    expect(view.leaves.slice(diffsBefore).every((l) => !l['erin'])).toBe(true);
    expect(view.users.get('erin')?.size).toBe(2);

    // Tab 2 closes for good: after the grace period its meta leaves, erin stays with one.
    tab2.close();
    await new Promise((r) => setTimeout(r, GRACE_MS / 3));
    expect(presenceView(watcher, 'open:reload').users.get('erin')?.size).toBe(2);
    await watcher.until((r) => presenceView(r, 'open:reload').users.get('erin')?.size === 1, 5_000, 'one meta left');
    expect(statesOf(presenceView(watcher, 'open:reload'), 'erin')).toEqual([{ tab: 1 }]);
  });

  it('bounds: oversized state, too many rooms, unknown rooms, an update flood (coalesced, the last state wins), members past the cap', async () => {
    const frank = await ws('frank');
    const watcher = await ws('watcher-2');
    join(watcher, 'open:bounds', {});
    join(frank, 'open:bounds', { n: 0 });
    await watcher.until((r) => presenceView(r, 'open:bounds').users.has('frank'));

    join(frank, 'open:bounds', { big: 'x'.repeat(2_000) });
    await frank.until((r) => errorFor(r, 'open:bounds').length === 1);
    expect(errorFor(frank, 'open:bounds')[0]?.data.code).toBe('TOO_LARGE');

    join(frank, 'nowhere', {});
    await frank.until((r) => errorFor(r, 'nowhere').length === 1);
    expect(errorFor(frank, 'nowhere')[0]?.data.code).toBe('UNKNOWN_ROOM');
    frank.send({ type: 'PRESENCE_SET', room: "open:x'; DROP TABLE item; --", state: {} });
    await frank.until((r) => r.of('error').some((e) => e.data.code === 'BAD_REQUEST'));

    join(frank, 'team:t1', {}); // not a member: refused, and counts for nothing
    join(frank, 'admins', {});
    await frank.until((r) => errorFor(r, 'admins').length === 1);
    // Rooms per connection (3): refused joins count for nothing; a fourth room is TOO_LARGE.
    const g = await ws('gina');
    for (const room of ['team:x', 'open:g1', 'open:g2', 'open:g3', 'open:g4']) join(g, room, {});
    await g.until((r) => r.of('error').length === 2, 5_000, 'two refusals');
    expect(errorFor(g, 'team:x')[0]?.data.code).toBe('FORBIDDEN');
    expect(errorFor(g, 'open:g4')[0]?.data.code).toBe('TOO_LARGE');
    await g.until((r) => ['open:g1', 'open:g2', 'open:g3'].every((room) => presenceView(r, room).users.has('gina')));
    expect(presenceView(watcher, 'open:g4').users.size).toBe(0);

    // A flood of 40 updates: fewer diffs than updates, no error, and the last state wins.
    const before = presenceView(watcher, 'open:bounds').diffs;
    for (let i = 1; i <= 40; i++) join(frank, 'open:bounds', { n: i });
    await watcher.until(
      (r) => statesOf(presenceView(r, 'open:bounds'), 'frank')[0]?.['n' as never] === 40,
      15_000,
      'n = 40',
    );
    expect(presenceView(watcher, 'open:bounds').diffs - before).toBeLessThan(20);
    expect(frank.of('error').filter((e) => e.data.code === 'RATE_LIMITED')).toEqual([]);
    expect(errorFor(frank, 'open:bounds').length).toBe(1); // only the oversized state

    // Past the member cap (4 users listed), members get the count only.
    const extra = await Promise.all(['h1', 'h2', 'h3', 'h4'].map((u) => ws(u)));
    for (const r of extra) join(r, 'open:bounds', {});
    await watcher.until((r) => presenceView(r, 'open:bounds').truncated, 5_000, 'truncated');
    expect(presenceView(watcher, 'open:bounds').count).toBeGreaterThan(4);
    for (const r of extra) r.send({ type: 'PRESENCE_LEAVE', room: 'open:bounds' });
    await watcher.until((r) => !presenceView(r, 'open:bounds').truncated, 5_000, 'listed again');
    expect(presenceView(watcher, 'open:bounds').users.has('frank')).toBe(true);
  });

  it('broadcasts reach the other members only; SSE joins by POST and gets the same events', async () => {
    const ivan = await ws('ivan');
    const sse = new SseReader(eventsUrl(server.url, 'judy-sse', [], { token: testToken('judy') }));
    open.push(sse);
    await sse.until((r) => r.of('hello').length === 1);
    const connectionId = sse.of('hello')[0]?.data.connectionId as string;
    const post = (path: string, body: object) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Client-Id': 'judy-sse',
          Authorization: `Bearer ${testToken('judy')}`,
        },
        body: JSON.stringify({ connectionId, ...body }),
      });
    expect((await post('/v1/presence', { room: 'open:bc', state: { via: 'sse' } })).status).toBe(200);
    await sse.until((r) => presenceView(r, 'open:bc').users.has('judy'));
    ivan.send({ type: 'BROADCAST', room: 'open:bc', event: 'typing', payload: { on: true } });
    await ivan.until((r) => r.of('error').length === 1);
    expect(ivan.of('error')[0]?.data.code).toBe('BAD_REQUEST'); // not a member yet
    join(ivan, 'open:bc', {});
    await sse.until((r) => presenceView(r, 'open:bc').users.has('ivan'));
    ivan.send({ type: 'BROADCAST', room: 'open:bc', event: 'typing', payload: { on: true } });
    await sse.until((r) => r.of('broadcast').length === 1);
    expect(sse.of('broadcast')[0]?.data).toEqual({
      room: 'open:bc',
      from: 'ivan',
      event: 'typing',
      payload: { on: true },
    });
    expect(ivan.of('broadcast')).toEqual([]);
    expect((await post('/v1/presence/broadcast', { room: 'open:bc', event: 'cursor', payload: [1, 2] })).status).toBe(
      200,
    );
    await ivan.until((r) => r.of('broadcast').length === 1);
    expect((await post('/v1/presence/leave', { room: 'open:bc' })).status).toBe(200);
    await ivan.until((r) => !presenceView(r, 'open:bc').users.has('judy'));
    expect((await post('/v1/presence', { room: 'open:bc', state: 'x'.repeat(5_000) })).status).toBe(200);
    await sse.until((r) => r.of('error').some((e) => e.data.code === 'TOO_LARGE'));
  });
});

describe('a node that serves only presence', () => {
  it('starts with rooms and no collections (an empty publication), and serves them', async () => {
    const db = await createTestDatabase('');
    const server = await startTestServer(db, [], { rooms: [{ name: 'lobby' }] });
    try {
      const r = new WsReader(wsUrl(server.url, 'only-presence', testToken('kim')));
      await r.until((x) => x.of('hello').length === 1);
      r.send({ type: 'PRESENCE_SET', room: 'lobby', state: { hi: true } });
      await r.until((x) => presenceView(x, 'lobby').users.has('kim'));
      r.close();
    } finally {
      await server.stop();
      await db.drop();
    }
  });
});
