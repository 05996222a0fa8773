/**
 * Own rows: the rows of this client's own writes, which the stream leaves out
 * for us (`covered`) because they come with the write's answer. Everything the
 * client knows about them lives here; subscriptions, persistence and tabs ask.
 *
 *   stream changes/ack with `covered` ─► expected per (subscription, key); the
 *                                         leader holds that subscription's store writes
 *   a later stream change to an expected key, or a server snapshot ─► touched at its cursor
 *   the answer of every mutation the message named ─► place: each covered key gets the
 *      answer's last row for it (unless touched since the cover: the stream is newer) ─► host
 *
 * A follower tab counts what the leader covers and learns from the leader how each row was
 * placed (`replicated`); a copy of a subscription from the leader carries what is still
 * awaited for it (`awaitedFor`/`adopt`), so a follower that takes over places them itself.
 */
import type { Change, CoveredChange, MutationRef, WrittenRow } from '@syncline/protocol';

/** Own rows the stream left out of the message at `cursor`, to place once the answers of `ids` are here. */
export interface AwaitedOwnRows {
  ids: number[];
  covered: CoveredChange[];
  cursor: string;
}

/** What the client does with an own row: place it in its subscription, persist, tell other tabs. */
export interface OwnRowsHost {
  /**
   * `change`: the answer's row for the key (undefined: the answer has none, nothing to
   * place); `fresh`: the stream did not change that row after the message that covered it.
   */
  place(subscriptionId: string, key: string, change: Change | undefined, fresh: boolean): void;
  /** The table of a subscription's rows (undefined: not known yet, placing waits). */
  tableOf(subscriptionId: string): string | undefined;
}

/** Answers kept to pair with `covered` entries that arrive after them. */
const KEEP_ANSWERS = 200;

interface Expected {
  count: number;
  /** The cursor of the last stream change to the row since it was covered. */
  touchedAt?: string;
}

export class OwnRows {
  /** Subscription id → key → what is expected of it. */
  private readonly expected = new Map<string, Map<string, Expected>>();
  /** Covered entries still waiting for their mutations' answers. */
  private waiting: AwaitedOwnRows[] = [];
  /** Confirmed answers' rows by mutation id (recent ones). */
  private readonly answers = new Map<number, readonly WrittenRow[]>();
  /** Leader: subscriptions whose store writes wait for their own rows (see PersistedState). */
  readonly holding = new Set<string>();
  /** Taken over while awaiting own rows: stored whole once they land (see `lead`). */
  private readonly storeWhole = new Set<string>();
  /** Following another tab: the leader places our rows and tells us how (`replicated`). */
  private following = false;
  private placing = false;

  constructor(
    private readonly clientId: string,
    private readonly host: OwnRowsHost,
  ) {}

  /** A stream message (ours, or mirrored from the leader), before its changes are applied. */
  streamMessage(message: { cursor: string; mutations?: readonly MutationRef[]; covered?: readonly CoveredChange[] }) {
    const covered = message.covered ?? [];
    for (const c of covered) {
      this.expect(c.subscription, c.key);
      if (!this.following) this.holding.add(c.subscription);
    }
    if (!message.mutations || covered.length === 0) return;
    // Followers too: one that takes over before the answer arrives must know where its rows go.
    const ids = message.mutations.filter((m) => m.clientId === this.clientId).map((m) => m.mutationId);
    this.waiting.push({ ids, covered: [...covered], cursor: message.cursor });
    void this.placeWaiting();
  }

  /** The stream changed `key` of a subscription at `cursor`: an answer older than that must not undo it. */
  touched(subscriptionId: string, key: string, cursor: string): void {
    const e = this.expected.get(subscriptionId)?.get(key);
    if (e && (e.touchedAt === undefined || cursor > e.touchedAt)) e.touchedAt = cursor;
  }

  /** Server truth as of `cursor` replaced the subscription's rows: own rows covered before it are older. */
  snapshotAt(subscriptionId: string, cursor: string): void {
    for (const e of this.expected.get(subscriptionId)?.values() ?? []) e.touchedAt = cursor;
  }

  /** A mutation's answer: its rows go where the stream said. */
  answered(mutationId: number, rows: readonly WrittenRow[]): void {
    this.answers.set(mutationId, rows);
    if (this.answers.size > KEEP_ANSWERS) this.answers.delete(this.answers.keys().next().value as number);
    void this.placeWaiting();
  }

  /** Following: the leader placed (or dropped) an own row; its placement is ours. */
  replicated(subscriptionId: string, key: string): void {
    this.release(subscriptionId, key);
  }

  /** The subscription is gone: own rows still to come for it have nowhere to go. */
  forget(subscriptionId: string): void {
    this.expected.delete(subscriptionId);
    this.holding.delete(subscriptionId);
    this.storeWhole.delete(subscriptionId);
    this.waiting = this.waiting.flatMap((w) => {
      const covered = w.covered.filter((c) => c.subscription !== subscriptionId);
      return covered.length > 0 ? [{ ...w, covered }] : [];
    });
  }

  /** What landing an own row means for the subscription's store writes: store it whole, or release what was held. */
  landed(subscriptionId: string): 'whole' | 'release' {
    this.holding.delete(subscriptionId);
    return this.storeWhole.delete(subscriptionId) ? 'whole' : 'release';
  }

  // ── tabs ──────────────────────────────────────────────────────────────

  /** Leader: own rows still to come for one subscription, and its keys the stream touched since (for a copy). */
  awaitedFor(subscriptionId: string): { awaited: AwaitedOwnRows[]; touched: Record<string, string> } {
    const awaited = this.waiting.flatMap((w) => {
      const covered = w.covered.filter((c) => c.subscription === subscriptionId);
      return covered.length > 0 ? [{ ids: [...w.ids], covered, cursor: w.cursor }] : [];
    });
    const touched: Record<string, string> = {};
    for (const [key, e] of this.expected.get(subscriptionId) ?? []) {
      if (e.touchedAt !== undefined) touched[key] = e.touchedAt;
    }
    return { awaited, touched };
  }

  /** Follower: a copy of a subscription from the leader, with what the leader still awaits for it. */
  adopt(subscriptionId: string, awaited: readonly AwaitedOwnRows[], touched: Readonly<Record<string, string>>): void {
    const known = new Set(this.waiting.flatMap((w) => w.covered.map((c) => `${w.cursor}|${c.subscription}|${c.key}`)));
    for (const e of awaited) {
      const covered = e.covered.filter((c) => !known.has(`${e.cursor}|${c.subscription}|${c.key}`));
      if (covered.length === 0 || e.ids.every((id) => this.answers.has(id))) continue;
      this.waiting.push({ ids: e.ids, covered, cursor: e.cursor });
      for (const c of covered) this.expect(c.subscription, c.key);
    }
    for (const [key, cursor] of Object.entries(touched)) this.touched(subscriptionId, key, cursor);
  }

  /** Another tab leads: it places our rows. */
  follow(): void {
    this.following = true;
  }

  /**
   * This tab leads now. Subscriptions in `takenOver` (live, with the old
   * leader's rows) still awaiting own rows keep the store's rows until those
   * land, then are stored whole; returns the ones that were not (store them now).
   */
  lead(takenOver: Iterable<string>): string[] {
    this.following = false;
    const storeNow: string[] = [];
    for (const id of takenOver) {
      if (this.waiting.some((w) => w.covered.some((c) => c.subscription === id))) {
        this.holding.add(id);
        this.storeWhole.add(id);
      } else storeNow.push(id);
    }
    void this.placeWaiting();
    return storeNow;
  }

  private expect(subscriptionId: string, key: string): void {
    let keys = this.expected.get(subscriptionId);
    if (!keys) this.expected.set(subscriptionId, (keys = new Map()));
    const e = keys.get(key);
    if (e) e.count++;
    else keys.set(key, { count: 1 });
  }

  /** One expected row arrived (or will not): returns when the stream last touched it, if it did. */
  private release(subscriptionId: string, key: string): string | undefined {
    const keys = this.expected.get(subscriptionId);
    const e = keys?.get(key);
    if (!keys || !e) return undefined;
    if (--e.count <= 0) keys.delete(key);
    if (keys.size === 0) this.expected.delete(subscriptionId);
    return e.touchedAt;
  }

  /**
   * Places every waiting entry whose answers are all here — in a microtask, so
   * the stream message that covered them (or brought their answer's turn) is
   * applied first and the subscription's cursor is the message's.
   */
  private placeWaiting(): void {
    if (this.waiting.length === 0 || this.placing) return;
    this.placing = true;
    queueMicrotask(() => {
      this.placing = false;
      this.placeNow();
    });
  }

  private placeNow(): void {
    if (this.waiting.length === 0) return;
    if (this.following) {
      // The leader places them. Keep only what waits for an answer nobody has had yet: if the
      // leader goes first, we place those ourselves (see lead()).
      this.waiting = this.waiting.filter(({ ids }) => ids.some((id) => !this.answers.has(id)));
      return;
    }
    this.waiting = this.waiting.filter(({ ids, covered, cursor }) => {
      if (ids.some((id) => !this.answers.has(id))) return true; // an answer is still on its way
      if (covered.some((c) => this.host.tableOf(c.subscription) === undefined)) return true;
      const rows = ids.flatMap((id) => this.answers.get(id) ?? []);
      for (const c of covered) {
        const table = this.host.tableOf(c.subscription);
        // The answer's last row for the key is the newest the client may know of.
        const written = rows.filter((r) => r.table === table && r.key === c.key).at(-1);
        const touchedAt = this.release(c.subscription, c.key);
        const fresh = touchedAt === undefined || touchedAt <= cursor;
        const change: Change | undefined = written && {
          subscription: c.subscription,
          op: c.op === 'delete' || written.row === null ? 'delete' : c.op,
          key: c.key,
          row: c.op === 'delete' ? null : written.row,
          version: c.op === 'delete' ? c.version : written.version,
        };
        this.host.place(c.subscription, c.key, change, fresh);
      }
      return false;
    });
  }
}
