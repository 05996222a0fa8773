// @vitest-environment happy-dom
// @vitest-environment-options { "settings": { "fetch": { "disableSameOriginPolicy": true } } }
/**
 * presence() against the real server: two users in one room see each other with their
 * states, and a user whose client closes is gone for the other.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import Lobby from './testing/Lobby.svelte';
import Typing from './testing/Typing.svelte';
import { mountWith, startPgApp, type PgApp } from './testing/pg-app.ts';

let app: PgApp;
beforeAll(async () => {
  app = await startPgApp();
});
afterAll(() => app?.end());

it('shows who else is in the room, follows their state, and drops a user whose client closed', async () => {
  const annClient = await app.client(undefined, 'ann');
  const bobClient = await app.client(undefined, 'bob');
  const ann = mountWith(annClient, Lobby, { who: 'ann', mood: 'calm' }, 0);
  const bob = mountWith(bobClient, Lobby, { who: 'bob', mood: 'busy' }, 0);
  // Members come in join order, which depends on whose connection got there first: compare as sets.
  const users = (m: typeof ann) =>
    [...m.target.querySelectorAll('li')]
      .map((li) => li.dataset['user'])
      .sort()
      .join();
  const moodAt = (m: typeof ann, user: string) => m.target.querySelector(`li[data-user="${user}"]`)?.textContent;
  await expect.poll(() => [users(ann), users(bob)], { timeout: 10_000 }).toEqual(['ann,bob', 'ann,bob']);
  expect(moodAt(ann, 'bob')).toBe('busy');
  expect(moodAt(bob, 'ann')).toBe('calm');

  await bob.unmount();
  await bobClient.close(); // the connection goes, and bob with it
  await expect.poll(() => users(ann), { timeout: 10_000 }).toBe('ann');
  await ann.unmount();
});

it('onBroadcast hears the others’ broadcasts and holds the room joined until its effect ends', async () => {
  const annClient = await app.client(undefined, 'ann');
  const bobClient = await app.client(undefined, 'bob');
  const bob = mountWith(bobClient, Typing, { who: 'bob' }, 0); // nobody reads members: onBroadcast joins
  const annRoom = annClient.presence('lobby', {}, { name: 'ann' });
  const inRoom = () =>
    annRoom
      .members()
      .map((m) => m.user)
      .sort()
      .join();
  await expect.poll(inRoom, { timeout: 10_000 }).toBe('ann,bob');
  annRoom.broadcast('typing', { on: true });
  await expect
    .poll(() => [...bob.target.querySelectorAll('li')].map((li) => `${li.dataset['from']} ${li.textContent}`), {
      timeout: 10_000,
    })
    .toEqual(['ann typing']);
  await bob.unmount(); // the effect ends: the room is left
  await expect.poll(inRoom, { timeout: 10_000 }).toBe('ann');
  await annClient.close();
  await bobClient.close();
});
