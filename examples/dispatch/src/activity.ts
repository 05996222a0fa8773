/** A pretend dispatcher: moves a random order along its lifecycle every few seconds, by plain SQL. */
import type pg from 'pg';

const NEXT: Record<string, string> = {
  pending: 'accepted',
  accepted: 'in_progress',
  in_progress: 'delivering',
  delivering: 'delivered',
  delivered: 'pending',
  cancelled: 'pending',
};

export function startActivity(pool: pg.Pool, everyMs = 3_000): { stop(): void } {
  const timer = setInterval(() => {
    void step(pool).catch(() => {});
  }, everyMs);
  return { stop: () => clearInterval(timer) };
}

async function step(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ id: string; status: string }>(
    'SELECT id, status FROM "order" ORDER BY random() LIMIT 1',
  );
  const o = rows[0];
  if (!o) return;
  await pool.query('UPDATE "order" SET status = $2, updated_at = now() WHERE id = $1', [
    o.id,
    NEXT[o.status] ?? 'pending',
  ]);
}
