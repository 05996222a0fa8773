/**
 * `GET /metrics` parses as Prometheus text (with a real parser), every name is
 * `syncline_`-prefixed, durations are histograms, and the counters move as the
 * test acts: a stream opens, a transaction is routed, a write answers, a bad
 * cursor gets a resync. `/v1/ready` answers 200 once capture runs; a metrics
 * token, when set, is required.
 */
import parse from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

let db: TestDatabase;
let server: SynclineServer;
beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  server = await startTestServer(db, COLLECTIONS, {
    metricsToken: 'scrape-secret',
    writes: { item: { insert: true } },
  });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

async function scrape() {
  const res = await fetch(new URL('/metrics', server.url), { headers: { Authorization: 'Bearer scrape-secret' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const families = parse(await res.text());
  const value = (name: string, labels: Record<string, string> = {}) => {
    const f = families.find((x) => x.name === name);
    if (!f) throw new Error(`no metric ${name}`);
    const m = f.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
    // This parser keeps neither labels nor _count of labelled histograms: their +Inf bucket is the count.
    return Number(m?.value ?? m?.count ?? m?.buckets?.['+Inf'] ?? 0);
  };
  return { families, value };
}

describe('/metrics', () => {
  it('refuses a scrape without the metrics token', async () => {
    const res = await fetch(new URL('/metrics', server.url));
    expect(res.status).toBe(401);
  });

  it('parses as Prometheus text, and its counters move as the test acts', async () => {
    const before = await scrape();
    for (const f of before.families) expect(f.name).toMatch(/^syncline_/);
    // Durations are histograms (a lag is a gauge of seconds, not a duration of something that happened).
    for (const f of before.families.filter((x) => x.name.endsWith('_seconds') && !x.name.includes('_lag_')))
      expect(f.type).toBe('HISTOGRAM');
    expect(before.value('syncline_retained_wal_bytes')).toBeGreaterThanOrEqual(0);
    expect(before.value('syncline_replication_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(before.value('syncline_build_info')).toBe(1);
    expect(before.value('syncline_capture_connected')).toBe(1);

    const r = new SseReader(eventsUrl(server.url, 'metrics-1', [{ id: 'a', collection: 'items_all' }]));
    await r.until((x) => x.of('snapshot').some((e) => e.data.done));
    await db.query(`INSERT INTO item (id, status) VALUES ('m1', 'open')`);
    await r.until((x) => x.of('changes').length === 1);
    const res = await fetch(new URL('/v1/mutate', server.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${testToken('writer')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        clientId: 'metrics-writer',
        mutationId: 1,
        ops: [{ type: 'insert', table: 'item', row: { id: 'm2', status: 'open' } }],
      }),
    });
    expect(res.status).toBe(200);
    await r.until((x) => x.of('changes').length === 2);
    // A cursor from another epoch: resync.
    const stale = new SseReader(
      eventsUrl(server.url, 'metrics-2', [{ id: 'b', collection: 'items_all', cursor: 'ffffffff0000000000000001' }]),
    );
    await stale.until((x) => x.of('resync').length === 1);

    const after = await scrape();
    expect(after.value('syncline_connections', { transport: 'sse' })).toBeGreaterThanOrEqual(1);
    expect(after.value('syncline_transactions_routed_total')).toBeGreaterThanOrEqual(
      before.value('syncline_transactions_routed_total') + 2,
    );
    expect(after.value('syncline_changes_routed_total')).toBeGreaterThanOrEqual(2);
    expect(after.value('syncline_snapshot_queries_total')).toBeGreaterThanOrEqual(1);
    expect(after.value('syncline_messages_sent_total', { event: 'changes' })).toBeGreaterThanOrEqual(2);
    expect(after.value('syncline_bytes_sent_total')).toBeGreaterThan(before.value('syncline_bytes_sent_total'));
    expect(after.value('syncline_resyncs_total', { reason: 'cursor-epoch' })).toBe(1);
    expect(after.value('syncline_mutations_total', { outcome: 'ok' })).toBe(1);
    expect(after.value('syncline_commit_to_send_seconds')).toBeGreaterThanOrEqual(2);
    expect(after.value('syncline_snapshot_duration_seconds')).toBeGreaterThanOrEqual(1);
    expect(after.value('syncline_mutate_duration_seconds')).toBe(1);
    r.close();
    stale.close();
  });

  it('/v1/ready says whether this node can take traffic', async () => {
    const res = await fetch(new URL('/v1/ready', server.url));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true });
  });
});
