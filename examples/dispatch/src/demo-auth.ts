/**
 * The demo's users sign in by picking a name: `GET /demo/token?user=alice`
 * returns a token signed with SYNCLINE_JWT_SECRET. A real app issues tokens
 * from its own login; Syncline only verifies them.
 */
import { signToken } from '@syncline/server';
import { DEMO_USERS } from './seed.ts';

export const DEV_SECRET = 'syncline-demo-development-secret-change-me!';

const ROLES: Record<keyof typeof DEMO_USERS, string> = {
  alice: 'customer',
  bob: 'customer',
  dmitri: 'driver',
  olga: 'driver',
  dana: 'dispatcher',
};

export async function demoToken(
  secret: string,
  user: string,
): Promise<{ token: string; userId: string; role: string } | null> {
  if (!Object.hasOwn(DEMO_USERS, user)) return null;
  const name = user as keyof typeof DEMO_USERS;
  const userId = DEMO_USERS[name];
  const role = ROLES[name];
  return { token: await signToken(secret, { sub: userId, app_role: role, name }, 3600), userId, role };
}
