/** Demo data with fixed ids, inserted once (an existing database keeps its rows). */
import type pg from 'pg';

export const DEMO_USERS = {
  alice: '00000000-0000-4000-8000-000000000001', // customer
  bob: '00000000-0000-4000-8000-000000000002', // customer
  dmitri: '00000000-0000-4000-8000-000000000003', // driver
  olga: '00000000-0000-4000-8000-000000000004', // driver
  dana: '00000000-0000-4000-8000-000000000005', // dispatcher
} as const;

const STATUSES = ['pending', 'accepted', 'in_progress', 'delivering', 'delivered', 'cancelled'];
const ADDRESSES = ['12 Baker St', '5 Nevsky Pr', '221 Elm Ave', '9 Harbour Rd', '77 Mill Ln', '3 Station Sq'];
const TITLES = [
  'Flowers',
  'Groceries',
  'Documents',
  'Laptop repair',
  'Birthday cake',
  'Pharmacy',
  'Books',
  'Furniture',
];

export async function seedDemo(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM "user"');
  if (Number(rows[0]?.n) > 0) return;
  const u = DEMO_USERS;
  await pool.query(
    `INSERT INTO "user" (id, name, role) VALUES
       ($1, 'Alice', 'customer'), ($2, 'Bob', 'customer'), ($3, 'Dmitri', 'driver'),
       ($4, 'Olga', 'driver'), ($5, 'Dana', 'dispatcher')`,
    [u.alice, u.bob, u.dmitri, u.olga, u.dana],
  );
  for (let i = 0; i < 24; i++) {
    const status = STATUSES[i % STATUSES.length] as string;
    const customer = i % 2 === 0 ? u.alice : u.bob;
    const driver = status === 'pending' ? null : i % 3 === 0 ? u.dmitri : u.olga;
    const id = `10000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`;
    await pool.query(
      `INSERT INTO "order" (id, customer_id, driver_id, status, title, address, total) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        id,
        customer,
        driver,
        status,
        TITLES[i % TITLES.length],
        ADDRESSES[i % ADDRESSES.length],
        (10 + i * 7.25).toFixed(2),
      ],
    );
    if (driver) {
      const chat = await pool.query<{ id: string }>(
        `INSERT INTO chat (order_id, customer_id, driver_id, title) VALUES ($1, $2, $3, $4) RETURNING id`,
        [id, customer, driver, `Order ${i + 1}`],
      );
      await pool.query(`INSERT INTO chat_message (chat_id, author_id, body) VALUES ($1, $2, 'On my way!')`, [
        chat.rows[0]?.id,
        driver,
      ]);
    }
    await pool.query(`INSERT INTO notification (user_id, kind, body) VALUES ($1, 'order', $2)`, [
      customer,
      `Order ${i + 1} is ${status}`,
    ]);
  }
}
