/**
 * One room's members as this node knows them (its own connections' metas and
 * other nodes'), and what changed since the last diff went out.
 *
 *   users ─► sub → refs        metas ─► ref → { sub, key, state, onlineAt, node }
 *   pending ─► ref → joined | left   (per ref the latest wins; a join and a leave
 *                                     of a ref the last diff did not show cancel out)
 *
 * So a storm of joins and leaves between two flushes becomes one diff, and a
 * meta that came and went in between is not in it at all.
 */
import type {
  JsonValue,
  PresenceDiffMessage,
  PresenceMembers,
  PresenceMeta,
  PresenceStateMessage,
} from '@syncline/protocol';

export interface MetaRecord {
  ref: string;
  sub: string;
  /** Tab key within its connection ("" for one meta per connection). */
  key: string;
  state: JsonValue;
  onlineAt: number;
  /** The node holding the meta's connection. */
  node: string;
  /** Its connection closed; it leaves when the grace period ends unless a reload takes it over. */
  ghost?: boolean;
  /** When this node last heard of it from its node (performance.now()); not meaningful elsewhere. */
  seenAt?: number;
}

interface Pending {
  meta: MetaRecord;
  left: boolean;
  /** Whether members were last shown this ref (a leave then matters; otherwise join+leave cancel). */
  shown: boolean;
}

export class RoomState {
  private readonly metas = new Map<string, MetaRecord>();
  private readonly users = new Map<string, Set<string>>();
  private readonly pending = new Map<string, Pending>();
  private countShown = 0;
  private truncatedShown = false;

  constructor(readonly name: string) {}

  get userCount(): number {
    return this.users.size;
  }

  get size(): number {
    return this.metas.size;
  }

  get(ref: string): MetaRecord | undefined {
    return this.metas.get(ref);
  }

  /** The meta of this user and tab key, if any (a reload within the grace period finds its own). */
  find(sub: string, key: string): MetaRecord | undefined {
    for (const ref of this.users.get(sub) ?? []) {
      const m = this.metas.get(ref);
      if (m && m.key === key) return m;
    }
    return undefined;
  }

  nodes(): Set<string> {
    return new Set([...this.metas.values()].map((m) => m.node));
  }

  metasOf(node: string): MetaRecord[] {
    return [...this.metas.values()].filter((m) => m.node === node);
  }

  /** Adds or replaces a meta (same ref: a state update, or another node taking it over). */
  upsert(meta: MetaRecord): void {
    const before = this.metas.get(meta.ref);
    if (before && before.node === meta.node && JSON.stringify(before.state) === JSON.stringify(meta.state)) return;
    if (before && before.sub !== meta.sub) this.dropUser(before.sub, before.ref);
    this.metas.set(meta.ref, meta);
    let refs = this.users.get(meta.sub);
    if (!refs) this.users.set(meta.sub, (refs = new Set()));
    refs.add(meta.ref);
    const p = this.pending.get(meta.ref);
    this.pending.set(meta.ref, { meta, left: false, shown: p ? p.shown : before !== undefined });
  }

  remove(ref: string): MetaRecord | undefined {
    const meta = this.metas.get(ref);
    if (!meta) return undefined;
    this.metas.delete(ref);
    this.dropUser(meta.sub, ref);
    const p = this.pending.get(ref);
    const shown = p ? p.shown : true;
    if (shown) this.pending.set(ref, { meta, left: true, shown });
    else this.pending.delete(ref);
    return meta;
  }

  /** The whole room, for a member that just joined (or rejoined). Past `cap` users: the count only. */
  state(cap: number): PresenceStateMessage {
    if (this.users.size > cap) return { room: this.name, members: {}, count: this.users.size, truncated: true };
    const members: PresenceMembers = {};
    for (const [sub, refs] of this.users) members[sub] = [...refs].map((r) => wire(this.metas.get(r) as MetaRecord));
    return { room: this.name, members, count: this.users.size };
  }

  /**
   * What changed since the last call, for every member; null when nothing they would see did.
   * Crossing back under the cap sends the whole state again (members had only the count).
   */
  takeDiff(
    cap: number,
  ): { type: 'diff'; message: PresenceDiffMessage } | { type: 'state'; message: PresenceStateMessage } | null {
    if (this.pending.size === 0) return null;
    const count = this.users.size;
    if (count > cap) {
      this.pending.clear();
      this.truncatedShown = true;
      if (count === this.countShown) return null;
      this.countShown = count;
      return { type: 'diff', message: { room: this.name, joins: {}, leaves: {}, count, truncated: true } };
    }
    this.countShown = count;
    if (this.truncatedShown) {
      this.truncatedShown = false;
      this.pending.clear();
      return { type: 'state', message: this.state(cap) };
    }
    const joins: PresenceMembers = {};
    const leaves: PresenceMembers = {};
    for (const p of this.pending.values()) {
      const into = p.left ? leaves : joins;
      (into[p.meta.sub] ??= []).push(wire(p.meta));
    }
    this.pending.clear();
    return { type: 'diff', message: { room: this.name, joins, leaves, count } };
  }

  private dropUser(sub: string, ref: string): void {
    const refs = this.users.get(sub);
    refs?.delete(ref);
    if (refs && refs.size === 0) this.users.delete(sub);
  }
}

function wire(m: MetaRecord): PresenceMeta {
  return { ref: m.ref, state: m.state, onlineAt: m.onlineAt };
}
