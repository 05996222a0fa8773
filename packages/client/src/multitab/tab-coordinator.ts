/**
 * Tabs of one origin over one local store share one connection.
 *
 *   open ─▶ leader lock free? ─ yes ─▶ LEADER: the stream, the outbox, the store's writer
 *                            └ no ──▶ FOLLOWER: join; subscriptions and mutations go to the
 *                                     leader; its subscriptions' and mutations' effects come back
 *                                     ─ leader's tab closes (lock released) ─▶ takes over
 *
 * Web Locks elect the leader: it holds `<name>:leader` for its lifetime and the
 * browser frees it when the tab closes or crashes, so the next follower in
 * line is granted it. Each tab also holds `<name>:tab:<id>`; the leader queues
 * for a follower's, and being granted it means that follower is gone.
 *
 * Requests a follower sent to a leader that never answered (it closed) are
 * sent again to the next one; the leader recognises a mutation it already
 * queued by its request id (kept with the outbox entry), so none runs twice.
 */
import type { ErrorMessage, JsonValue, SnapshotRow, Subscription as WireSubscription } from '@syncline/protocol';
import type { MutationBody } from '../mutations/pending-mutations.ts';
import { OutboxClosedError } from '../mutations/outbox.ts';
import type { AwaitedOwnRows } from '../own-rows/own-rows.ts';
import { randomId } from '../random-id.ts';
import type { TabChannelFactory, TabChannelLike } from './tab-channel.ts';
import type { TabLocks } from './tab-locks.ts';
import {
  TAB_PROTOCOL_VERSION,
  readTabMessage,
  type ConnectionMirror,
  type Envelope,
  type MirroredMutation,
  type TabMessage,
} from './tab-messages.ts';

/** How long a closed follower tab's presence waits for it to come back (a reload) before it leaves. */
const PRESENCE_GRACE_MS = 3_000;
export type TabRole = 'starting' | 'leader' | 'follower' | 'closed';

/** What the client does for the coordinator. */
export interface TabHost {
  /** This tab now leads: load what the store has, send the outbox, connect. `takeover` after following. */
  lead(takeover: boolean): Promise<void>;
  /** Another tab leads: stop writing the store and sending; mutations go through `mutate()`. */
  follow(): void;
  /** `lead()` failed: this tab no longer takes part. */
  failed(error: unknown): void;
  connection(): ConnectionMirror;
  pendingMirror(): MirroredMutation[];
  /** A follower's subscription: shared with any of the same id and params, or refused. */
  remoteSubscribe(sub: WireSubscription):
    | {
        ok: true;
        reset?: {
          rows: SnapshotRow[];
          cursor: string;
          table?: string;
          awaited: AwaitedOwnRows[];
          touched: Record<string, string>;
        };
      }
    | { ok: false; error: ErrorMessage };
  /** No follower wants it any more: unsubscribe unless this tab does. */
  remoteReleased(id: string): void;
  /** The last follower that wanted it closed without unsubscribing (it may be reloading). */
  remoteGone(id: string): void;
  remoteMutate(requestId: string, body: MutationBody): Promise<number>;
  /** A follower's presence request, for the leader's connection (a leave also when the follower's tab goes). */
  remotePresence(kind: 'set' | 'leave' | 'broadcast', body: Record<string, JsonValue>): void;
  /** Follower: the leader's pending mutations, replacing ours. */
  adoptPending(list: MirroredMutation[]): void;
  /** Follower: a leader's effect to replay. */
  applyMirror(message: TabMessage): void;
  /**
   * Follower: another tab leads now (or the first one welcomed us). What it
   * sends is not ordered with what the previous one sent: subscriptions wait
   * for its whole state before taking changes again.
   */
  leaderChanged(): void;
  /** Follower: our subscriptions (with cursors), to announce to a new leader. */
  localSubscriptions(): WireSubscription[];
}

export interface TabCoordinatorOptions {
  /** Channel and lock names derive from it (the store's namespace). */
  name: string;
  locks: TabLocks;
  channel: TabChannelFactory;
  host: TabHost;
}

interface MutateRequest {
  body: MutationBody;
  /** The leader it was sent to; sent again when another one welcomes us. */
  sentTo: string | undefined;
  resolve: (mutationId: number) => void;
  reject: (error: Error) => void;
}

/** Bound on mutate requests a follower keeps unanswered (a leader that never answers: the app hears an error). */
const MAX_OPEN_REQUESTS = 10_000;

export class TabCoordinator {
  readonly tabId = randomId();
  private currentRole: TabRole = 'starting';
  private leaderId: string | undefined;
  private readonly channel: TabChannelLike;
  private readonly abort = new AbortController();
  private endLife!: () => void;
  private readonly life = new Promise<void>((resolve) => (this.endLife = resolve));
  /** Leader: subscription id → follower tabs that want it. */
  private readonly interests = new Map<string, Set<string>>();
  /** Leader: followers whose tab lock we queue for. */
  private readonly watched = new Set<string>();
  /** Leader: the rooms (and tab keys) each follower is in, to leave for it when its tab goes. */
  private readonly presences = new Map<string, Map<string, JsonValue>>();
  /** Follower: mutate requests not yet answered. */
  private readonly requests = new Map<string, MutateRequest>();

  constructor(private readonly o: TabCoordinatorOptions) {
    this.channel = o.channel(`syncline:${o.name}`);
    this.channel.addEventListener('message', (event) => {
      const message = readTabMessage(event.data);
      if (message) this.receive(message);
    });
  }

  get role(): TabRole {
    return this.currentRole;
  }

  /** Resolves once this tab knows whether it leads (and, if so, has started leading). */
  start(): Promise<void> {
    const { locks } = this.o;
    // Held for the tab's life: the leader learns of our end by being granted it.
    void locks.request(this.tabLock(this.tabId), { signal: this.abort.signal }, () => this.life).catch(() => undefined);
    return new Promise<void>((known, failed) => {
      locks
        // No signal: Web Locks refuse one with ifAvailable (the answer is immediate anyway).
        .request(this.leaderLock(), { ifAvailable: true }, async (lock) => {
          if (!lock) {
            this.follow();
            known();
            return;
          }
          await this.lead(false);
          known();
          await this.life;
        })
        .catch(failed);
    });
  }

  /**
   * Leader: tell every follower. With none joined there is nobody to tell (a
   * tab that joins later gets the whole state then), so a lone tab clones
   * nothing per message.
   */
  broadcast(message: TabMessage): void {
    if (this.hasFollowers) this.post(message);
  }

  /** Leader with at least one follower joined (worth building a message for). */
  get hasFollowers(): boolean {
    return this.currentRole === 'leader' && this.watched.size > 0;
  }

  hasRemoteInterest(id: string): boolean {
    return (this.interests.get(id)?.size ?? 0) > 0;
  }

  // ── follower side ──────────────────────────────────────────────────────

  subscribe(sub: WireSubscription): void {
    this.post({ t: 'sub', from: this.tabId, sub });
  }

  unsubscribe(id: string): void {
    this.post({ t: 'unsub', from: this.tabId, id });
  }

  /** Follower: a presence request for the leader to send on its connection. */
  presence(kind: 'set' | 'leave' | 'broadcast', body: Record<string, JsonValue>): void {
    this.post({ t: 'presence', from: this.tabId, kind, body });
  }

  /** Queues a mutation with the leader; resolves with the id it gave it. */
  mutate(body: MutationBody): Promise<number> {
    if (this.requests.size >= MAX_OPEN_REQUESTS) {
      return Promise.reject(new Error('too many mutations waiting for the leading tab'));
    }
    const requestId = randomId();
    return new Promise<number>((resolve, reject) => {
      this.requests.set(requestId, { body, sentTo: this.leaderId, resolve, reject });
      this.post({ t: 'mutate', from: this.tabId, requestId, body });
    });
  }

  /** Stops: a leader lets the next tab lead, a follower leaves the queue. */
  close(): void {
    if (this.currentRole === 'closed') return;
    this.currentRole = 'closed';
    this.abort.abort();
    this.endLife();
    for (const r of this.requests.values()) r.reject(new Error('SyncClient closed'));
    this.requests.clear();
    this.channel.close();
  }

  // ── internals ──────────────────────────────────────────────────────────

  private follow(): void {
    this.currentRole = 'follower';
    this.o.host.follow();
    this.post({ t: 'join', from: this.tabId });
    // In line for leadership: granted when the leader's tab goes.
    this.o.locks
      .request(this.leaderLock(), { signal: this.abort.signal }, async () => {
        if (this.currentRole === 'closed') return;
        await this.lead(true);
        await this.life;
      })
      .catch(() => undefined);
  }

  /**
   * Not `leader` until the host is ready: requests arriving meanwhile are
   * ignored, and followers send them again when the `leader` message below
   * makes them join. A host that cannot lead (storage failing) closes this tab's
   * part, so no two tabs ever hand out mutation ids.
   */
  private async lead(takeover: boolean): Promise<void> {
    this.currentRole = 'starting';
    try {
      await this.o.host.lead(takeover);
    } catch (error) {
      this.close();
      this.o.host.failed(error);
      throw error;
    }
    if (this.currentRole !== 'starting') return; // closed meanwhile
    this.currentRole = 'leader';
    this.leaderId = this.tabId;
    // Our own requests the old leader never answered: queue them here (deduplicated by request id).
    for (const [requestId, r] of this.requests) {
      this.requests.delete(requestId);
      this.o.host.remoteMutate(requestId, r.body).then(r.resolve, r.reject);
    }
    this.post({ t: 'leader', from: this.tabId });
  }

  private receive(m: Envelope): void {
    if (this.currentRole === 'closed' || this.currentRole === 'starting') return;
    if (this.currentRole === 'leader') return this.receiveAsLeader(m);
    this.receiveAsFollower(m, m.sender);
  }

  private receiveAsLeader(m: TabMessage): void {
    const host = this.o.host;
    switch (m.t) {
      case 'join':
        this.watch(m.from);
        this.post({
          t: 'welcome',
          from: this.tabId,
          to: m.from,
          pending: host.pendingMirror(),
          connection: host.connection(),
        });
        return;
      case 'sub': {
        this.watch(m.from);
        const result = host.remoteSubscribe(m.sub);
        if (!result.ok) return this.post({ t: 'sub-error', to: m.from, id: m.sub.id, error: result.error });
        let tabs = this.interests.get(m.sub.id);
        if (!tabs) this.interests.set(m.sub.id, (tabs = new Set()));
        tabs.add(m.from);
        if (result.reset) this.post({ t: 'reset', to: m.from, id: m.sub.id, ...result.reset });
        return;
      }
      case 'unsub': {
        const tabs = this.interests.get(m.id);
        if (!tabs?.delete(m.from)) return;
        if (tabs.size === 0) {
          this.interests.delete(m.id);
          host.remoteReleased(m.id);
        }
        return;
      }
      case 'presence': {
        this.watch(m.from);
        let rooms = this.presences.get(m.from);
        if (!rooms) this.presences.set(m.from, (rooms = new Map()));
        const room = String(m.body['room']);
        if (m.kind === 'set') rooms.set(room, m.body['key'] ?? '');
        if (m.kind === 'leave') rooms.delete(room);
        return host.remotePresence(m.kind, m.body);
      }
      case 'mutate':
        host.remoteMutate(m.requestId, m.body).then(
          (mutationId) => this.post({ t: 'mutated', to: m.from, requestId: m.requestId, mutationId }),
          (error: unknown) => {
            // Closing: say nothing; the follower sends it again to the next leader.
            if (error instanceof OutboxClosedError) return;
            this.post({ t: 'mutated', to: m.from, requestId: m.requestId, error: errorText(error) });
          },
        );
        return;
      default:
        // Another tab's effects: a leader that lost its lock and has not noticed yet. The stream is the truth here.
        return;
    }
  }

  private receiveAsFollower(m: TabMessage, sender: string): void {
    if ('to' in m && m.to !== undefined && m.to !== this.tabId) return;
    const host = this.o.host;
    switch (m.t) {
      case 'leader':
        if (m.from !== this.leaderId) this.post({ t: 'join', from: this.tabId });
        return;
      case 'welcome':
        if (m.from !== this.leaderId) {
          this.leaderId = m.from;
          host.leaderChanged();
        }
        host.adoptPending(m.pending);
        host.applyMirror({ t: 'state', connection: m.connection });
        for (const sub of host.localSubscriptions()) this.subscribe(sub);
        for (const [requestId, r] of this.requests) {
          if (r.sentTo === m.from) continue;
          r.sentTo = m.from;
          this.post({ t: 'mutate', from: this.tabId, requestId, body: r.body });
        }
        return;
      case 'mutated': {
        const r = this.requests.get(m.requestId);
        if (!r) return;
        this.requests.delete(m.requestId);
        if (m.mutationId !== undefined) r.resolve(m.mutationId);
        else r.reject(new Error(m.error ?? 'the leading tab could not queue the mutation'));
        return;
      }
      case 'join':
      case 'sub':
      case 'unsub':
      case 'mutate':
      case 'presence':
        return; // for the leader
      default:
        // Only the leader that welcomed us: an old one's last words, or a new one's first before
        // its welcome, are covered by the whole state the welcome's re-announcements bring.
        if (sender === this.leaderId) host.applyMirror(m);
    }
  }

  /** Leader: when a follower's tab goes, its subscriptions stay a while (parked, like stored ones) for its reload to resume. */
  private watch(tab: string): void {
    if (this.watched.has(tab)) return;
    this.watched.add(tab);
    this.o.locks
      .request(this.tabLock(tab), { signal: this.abort.signal }, () => {
        this.watched.delete(tab);
        // Its presence leaves with it, after a grace period: a reloaded tab comes back with the
        // same key (sessionStorage) and joins again, and then nobody sees it leave.
        const gone = this.presences.get(tab);
        this.presences.delete(tab);
        if (gone?.size)
          setTimeout(() => {
            for (const [room, key] of gone) {
              const back = [...this.presences.values()].some((rooms) => rooms.get(room) === key);
              if (!back && this.currentRole === 'leader') this.o.host.remotePresence('leave', { room, key });
            }
          }, PRESENCE_GRACE_MS);
        for (const [id, tabs] of this.interests) {
          if (!tabs.delete(tab) || tabs.size > 0) continue;
          this.interests.delete(id);
          this.o.host.remoteGone(id);
        }
      })
      .catch(() => undefined);
  }

  private post(message: TabMessage): void {
    if (this.currentRole === 'closed') return;
    const envelope: Envelope = { ...message, v: TAB_PROTOCOL_VERSION, sender: this.tabId };
    this.channel.postMessage(envelope);
  }

  private leaderLock(): string {
    return `syncline:${this.o.name}:leader`;
  }
  private tabLock(tab: string): string {
    return `syncline:${this.o.name}:tab:${tab}`;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
