/**
 * Row-Level Security for the demo (seed 000's policies). Syncline reads them for
 * role `dispatch_user` and applies them on every path a row takes — snapshots and
 * differential sync run under the role with the caller's claims in
 * `request.jwt.claims`; live changes and replay use the same policies, compiled
 * (orders, chats, notifications, users) or checked by PostgreSQL (chat messages:
 * an EXISTS over chat membership) — so they hold even where a collection's filter
 * is broader. Idempotent.
 */
export const DEMO_ROLE = 'dispatch_user';

export const DEMO_RLS = `
DO $$ BEGIN CREATE ROLE ${DEMO_ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT USAGE ON SCHEMA public TO ${DEMO_ROLE};
GRANT SELECT ON "user", "order", chat, chat_message, notification TO ${DEMO_ROLE};
GRANT UPDATE (read, version) ON notification TO ${DEMO_ROLE};
GRANT UPDATE (status, driver_id, version) ON "order" TO ${DEMO_ROLE};

CREATE OR REPLACE FUNCTION app_user_id() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT current_setting('request.jwt.claims', true)::json ->> 'sub' $$;
CREATE OR REPLACE FUNCTION app_user_role() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT current_setting('request.jwt.claims', true)::json ->> 'app_role' $$;

ALTER TABLE "order" ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_message ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification ENABLE ROW LEVEL SECURITY;
ALTER TABLE "user" ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS order_as_customer ON "order";
CREATE POLICY order_as_customer ON "order" FOR SELECT USING (customer_id::text = app_user_id());
DROP POLICY IF EXISTS order_as_driver ON "order";
CREATE POLICY order_as_driver ON "order" FOR SELECT USING (driver_id::text = app_user_id());
DROP POLICY IF EXISTS order_pending_for_drivers ON "order";
CREATE POLICY order_pending_for_drivers ON "order" FOR SELECT USING (status = 'pending' AND app_user_role() = 'driver');
DROP POLICY IF EXISTS order_as_dispatcher ON "order";
CREATE POLICY order_as_dispatcher ON "order" FOR SELECT USING (app_user_role() = 'dispatcher');

DROP POLICY IF EXISTS order_dispatcher_update ON "order";
CREATE POLICY order_dispatcher_update ON "order" FOR UPDATE USING (app_user_role() = 'dispatcher');

DROP POLICY IF EXISTS chat_as_member ON chat;
CREATE POLICY chat_as_member ON chat FOR SELECT USING (app_user_id() IN (customer_id::text, driver_id::text));
DROP POLICY IF EXISTS chat_message_as_member ON chat_message;
CREATE POLICY chat_message_as_member ON chat_message FOR SELECT USING (
  EXISTS (SELECT 1 FROM chat c WHERE c.id = chat_id AND app_user_id() IN (c.customer_id::text, c.driver_id::text)));

DROP POLICY IF EXISTS notification_own ON notification;
CREATE POLICY notification_own ON notification FOR SELECT USING (user_id::text = app_user_id());
DROP POLICY IF EXISTS notification_own_update ON notification;
CREATE POLICY notification_own_update ON notification FOR UPDATE USING (user_id::text = app_user_id());
DROP POLICY IF EXISTS user_readable ON "user";
CREATE POLICY user_readable ON "user" FOR SELECT USING (true);
`;
