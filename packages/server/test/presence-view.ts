/** A member's view of a room, rebuilt from the presence events a test reader recorded (state, then diffs by ref). */
import type { RecordedEvents } from './recorded-events.ts';

export interface PresenceView {
  /** user → ref → state */
  users: Map<string, Map<string, unknown>>;
  count: number;
  truncated: boolean;
  /** Every diff's leaves, in order: user → refs that left. */
  leaves: Array<Record<string, string[]>>;
  diffs: number;
}

export function presenceView(r: RecordedEvents, room: string): PresenceView {
  const view: PresenceView = { users: new Map(), count: 0, truncated: false, leaves: [], diffs: 0 };
  type Metas = Record<string, Array<{ ref: string; state: unknown }>>;
  for (const e of r.events) {
    if (e.data?.room !== room) continue;
    if (e.event === 'presence_state') {
      view.users = new Map();
      for (const [sub, metas] of Object.entries(e.data.members as Metas))
        view.users.set(sub, new Map(metas.map((m) => [m.ref, m.state])));
      view.count = e.data.count;
      view.truncated = e.data.truncated === true;
    } else if (e.event === 'presence_diff') {
      view.diffs++;
      const left: Record<string, string[]> = {};
      for (const [sub, metas] of Object.entries(e.data.leaves as Metas)) {
        left[sub] = metas.map((m) => m.ref);
        for (const m of metas) view.users.get(sub)?.delete(m.ref);
        if (view.users.get(sub)?.size === 0) view.users.delete(sub);
      }
      for (const [sub, metas] of Object.entries(e.data.joins as Metas)) {
        let refs = view.users.get(sub);
        if (!refs) view.users.set(sub, (refs = new Map()));
        for (const m of metas) refs.set(m.ref, m.state);
      }
      view.leaves.push(left);
      view.count = e.data.count;
      view.truncated = e.data.truncated === true;
    }
  }
  return view;
}

/** The states a user holds in the view, sorted (one per meta). */
export function statesOf(view: PresenceView, sub: string): unknown[] {
  return [...(view.users.get(sub)?.values() ?? [])]
    .map((s) => JSON.stringify(s))
    .sort()
    .map((s) => JSON.parse(s));
}
