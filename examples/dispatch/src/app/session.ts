/**
 * Who is signed in: the demo user picked in the header (`?user=`, else the
 * last one), with a token from the demo's sign-in route. The last session is
 * kept in localStorage so a reload without network still opens the app on
 * that user's stored rows; the client asks for a fresh token on every connect.
 */
import { DEMO_USERS } from '../seed.ts';

export type Role = 'customer' | 'driver' | 'dispatcher';
export type DemoUser = keyof typeof DEMO_USERS;

export interface Session {
  user: DemoUser;
  userId: string;
  role: Role;
  token: string;
}

export const USERS: ReadonlyArray<{ user: DemoUser; name: string; role: Role }> = [
  { user: 'dana', name: 'Dana', role: 'dispatcher' },
  { user: 'dmitri', name: 'Dmitri', role: 'driver' },
  { user: 'olga', name: 'Olga', role: 'driver' },
  { user: 'alice', name: 'Alice', role: 'customer' },
  { user: 'bob', name: 'Bob', role: 'customer' },
];

const NAMES = new Map<string, string>(USERS.map((u) => [DEMO_USERS[u.user], u.name]));

/** A user's display name by id (the demo's users are fixed). */
export function nameOf(userId: unknown): string {
  return typeof userId === 'string' ? (NAMES.get(userId) ?? 'someone') : 'nobody';
}

export const DRIVERS = USERS.filter((u) => u.role === 'driver').map((u) => ({ id: DEMO_USERS[u.user], name: u.name }));

const LAST = 'dispatch:last-user';
const storedKey = (user: string) => `dispatch:session:${user}`;

export function pickedUser(): DemoUser {
  const asked = new URLSearchParams(location.search).get('user') ?? localStorage.getItem(LAST) ?? 'dana';
  return Object.hasOwn(DEMO_USERS, asked) ? (asked as DemoUser) : 'dana';
}

/** Signs in at the demo route; offline, the stored session of the same user. */
export async function signIn(user: DemoUser): Promise<Session> {
  try {
    const res = await fetch(`/demo/token?user=${encodeURIComponent(user)}`);
    if (!res.ok) throw new Error(`sign-in failed: ${res.status}`);
    const body = (await res.json()) as Omit<Session, 'user'>;
    const session: Session = { user, ...body };
    localStorage.setItem(storedKey(user), JSON.stringify(session));
    localStorage.setItem(LAST, user);
    return session;
  } catch (e) {
    const stored = localStorage.getItem(storedKey(user));
    if (stored === null) throw e;
    return JSON.parse(stored) as Session;
  }
}

export function switchUser(user: DemoUser): void {
  localStorage.setItem(LAST, user);
  const url = new URL(location.href);
  url.searchParams.set('user', user);
  location.assign(url);
}
