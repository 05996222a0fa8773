/**
 * usePresence against the real server: two users in one room see each other with their
 * states, a changed state reaches the other, and a user whose page goes is gone for the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresenceMember } from '@syncline/client';
import { testToken } from '../../server/test/test-token.ts';
import { SynclineProvider } from './provider.ts';
import { usePresence } from './use-presence.ts';
import { h, mount } from './testing/dom.ts';
import { eventually, startPgApp, type PgApp } from './testing/pg-app.ts';

let app: PgApp;
beforeAll(async () => {
  app = await startPgApp();
});
afterAll(async () => {
  await app?.close();
});

const seen: Record<string, readonly PresenceMember[]> = {};

function Lobby(props: { who: string; mood: string }) {
  const members = usePresence('lobby', {}, { name: props.who, mood: props.mood });
  seen[props.who] = members;
  return h('p', null, members.map((m) => m.user).join(','));
}

const page = (who: string, mood: string) =>
  h(SynclineProvider, { options: app.options({ token: () => testToken(who) }), lingerMs: 0 }, h(Lobby, { who, mood }));

const state = (of: string, user: string) =>
  (seen[of]?.find((m) => m.user === user)?.metas[0] as { state?: { mood?: string } } | undefined)?.state?.mood;

describe('usePresence', () => {
  it('shows who else is in the room, follows their state, and drops a user whose page went', async () => {
    const ann = mount(page('ann', 'calm'));
    const bob = mount(page('bob', 'busy'));
    await eventually(() => seen['ann']?.length === 2 && seen['bob']?.length === 2, 10_000, 'both see both');
    expect(state('ann', 'bob')).toBe('busy');
    expect(state('bob', 'ann')).toBe('calm');

    bob.render(page('bob', 'away')); // a new state: sent with room.set
    await eventually(() => state('ann', 'bob') === 'away', 10_000, "bob's new state at ann's");

    bob.unmount(); // the provider closes its client: the connection goes, and bob with it
    await eventually(() => seen['ann']?.map((m) => m.user).join() === 'ann', 10_000, 'bob gone for ann');
    ann.unmount();
  });
});
