/**
 * The dispatch demo's schema (seed 000: users, orders, chats, chat messages,
 * notifications). Idempotent, so it can run on every start and on an existing
 * DATABASE_URL. Every synced table has a `version` column; Syncline's setup adds
 * the trigger that keeps it.
 */
export const DEMO_SCHEMA = `
CREATE TABLE IF NOT EXISTS "user" (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('customer', 'driver', 'dispatcher')),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS "order" (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id uuid NOT NULL REFERENCES "user"(id),
  driver_id uuid REFERENCES "user"(id),
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'accepted', 'in_progress', 'delivering', 'delivered', 'cancelled')),
  title text NOT NULL,
  address text NOT NULL,
  total numeric(12, 2) NOT NULL DEFAULT 0,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS order_status_idx ON "order"(status);
CREATE INDEX IF NOT EXISTS order_customer_idx ON "order"(customer_id);
CREATE INDEX IF NOT EXISTS order_driver_idx ON "order"(driver_id);
CREATE TABLE IF NOT EXISTS chat (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id uuid REFERENCES "order"(id),
  customer_id uuid NOT NULL REFERENCES "user"(id),
  driver_id uuid REFERENCES "user"(id),
  title text NOT NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS chat_message (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  chat_id uuid NOT NULL REFERENCES chat(id),
  author_id uuid NOT NULL REFERENCES "user"(id),
  body text NOT NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS chat_message_chat_idx ON chat_message(chat_id);
CREATE TABLE IF NOT EXISTS notification (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES "user"(id),
  kind text NOT NULL,
  body text NOT NULL,
  read boolean NOT NULL DEFAULT false,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notification_user_idx ON notification(user_id);
CREATE TABLE IF NOT EXISTS order_history (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id uuid NOT NULL REFERENCES "order"(id),
  actor_id uuid NOT NULL REFERENCES "user"(id),
  action text NOT NULL,
  from_status text,
  to_status text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS order_history_order_idx ON order_history(order_id);
`;
