/**
 * Presence across nodes, over the same Redis as the shared log.
 *
 *   {syncline:<slot>}:presence:node:<node>  HASH  room␀ref → meta    (each node writes only its own)
 *   {syncline:<slot>}:presence:nodes        ZSET  node → last beat   (Redis's clock, every second)
 *   {syncline:<slot>}:presence              pub/sub: set, del, broadcast, hello (read my hash), gone
 *
 * A node whose beat is older than DEAD_MS is gone: the first node to see it
 * (one script: beat, then collect the stale) deletes its hash and says so, and
 * every node drops its members. So a SIGKILLed node's members leave everywhere
 * within DEAD_MS + BEAT_MS (6 s), not a TTL of minutes.
 *
 * After Redis comes back (a restart loses the keys without persistence), a node
 * writes its whole hash again and says hello; the others read it and converge.
 * A node that finds itself declared gone (partitioned too long) does the same.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BroadcastMessage } from '@syncline/protocol';
import type { PresenceLink, PresenceService } from './presence-service.ts';
import type { MetaRecord } from './room-state.ts';

const BEAT_MS = 1_000;
const DEAD_MS = 5_000;
const READ_MS = 10_000;

/** Beat (ZADD with Redis's time), then take out nodes whose beat is older than ARGV[2] ms. */
const BEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
for _, n in ipairs(dead) do
  redis.call('ZREM', KEYS[1], n)
  redis.call('DEL', KEYS[2] .. n)
end
return { added, dead }
`;

type Message =
  | { n: string; op: 'set'; room: string; meta: MetaRecord }
  | { n: string; op: 'del'; room: string; ref: string }
  | { n: string; op: 'bc'; msg: BroadcastMessage }
  | { n: string; op: 'hello' }
  | { n: string; op: 'gone'; node: string };

export interface PresenceClusterOptions {
  url: string;
  slot: string;
  presence: PresenceService;
  logger: Logger;
}

export class PresenceCluster implements PresenceLink {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  private readonly nodes: string;
  private readonly hashPrefix: string;
  private readonly hash: string;
  private readonly timer: NodeJS.Timeout;
  private readonly presence: PresenceService;
  private readonly me: string;
  private fresh = true;
  private lastRead = Date.now();

  constructor(private readonly o: PresenceClusterOptions) {
    const tag = `{syncline:${o.slot}}`;
    this.presence = o.presence;
    this.me = o.presence.node;
    this.channel = `${tag}:presence`;
    this.nodes = `${tag}:presence:nodes`;
    this.hashPrefix = `${tag}:presence:node:`;
    this.hash = this.hashPrefix + this.me;
    this.pub = new Redis(o.url, { maxRetriesPerRequest: 2, enableOfflineQueue: false });
    this.sub = new Redis(o.url, { maxRetriesPerRequest: null });
    this.pub.defineCommand('synclineBeat', { numberOfKeys: 2, lua: BEAT });
    for (const c of [this.pub, this.sub])
      c.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'redis (presence)'));
    void this.sub.subscribe(this.channel);
    this.sub.on('message', (_ch: string, text: string) => this.onMessage(text));
    // Every (re)connection: our presence may be gone from Redis, and we may have missed messages.
    this.pub.on('ready', () => void this.resync());
    // Messages sent while our subscription was down are lost: read everyone again once it is back.
    this.sub.on('ready', () => void this.readAll().catch(() => {}));
    this.timer = setInterval(() => void this.beat(), BEAT_MS);
    this.timer.unref();
    o.presence.link = this;
  }

  set(room: string, meta: MetaRecord): void {
    const field = `${room}\u0000${meta.ref}`;
    this.send(this.pub.multi().hset(this.hash, field, JSON.stringify(meta)), { n: this.me, op: 'set', room, meta });
  }

  remove(room: string, meta: MetaRecord): void {
    this.send(this.pub.multi().hdel(this.hash, `${room}\u0000${meta.ref}`), {
      n: this.me,
      op: 'del',
      room,
      ref: meta.ref,
    });
  }

  broadcast(msg: BroadcastMessage): void {
    this.send(this.pub.multi(), { n: this.me, op: 'bc', msg });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    // Our members leave the others when our beat goes stale (their clients, reconnecting
    // elsewhere, rejoin meanwhile): a deploy does not flicker everyone out at once.
    this.sub.disconnect();
    await this.pub.quit().catch(() => {});
  }

  private send(multi: ReturnType<Redis['multi']>, message: Message): void {
    if (this.pub.status !== 'ready') return; // written again in full once Redis is back (resync)
    multi
      .publish(this.channel, JSON.stringify(message))
      .exec()
      .catch(() => {});
  }

  private async beat(): Promise<void> {
    if (this.pub.status !== 'ready') return;
    try {
      const [added, dead] = (await (
        this.pub as unknown as {
          synclineBeat(a: string, b: string, me: string, deadMs: number): Promise<[number, string[]]>;
        }
      ).synclineBeat(this.nodes, this.hashPrefix, this.me, DEAD_MS)) as [number, string[]];
      for (const node of dead) {
        if (node === this.me) continue;
        this.o.logger.info({ node }, 'presence: a node stopped beating; its members leave');
        this.presence.nodeGone(node);
        await this.pub.publish(this.channel, JSON.stringify({ n: this.me, op: 'gone', node } satisfies Message));
      }
      // We were new to the set although we had beaten before: declared gone (or Redis lost it).
      if (added === 1 && !this.fresh) await this.resync();
      this.fresh = false;
      // Now and then, everyone's hash again: a message lost on the way is mended within READ_MS.
      if (Date.now() - this.lastRead > READ_MS) {
        this.lastRead = Date.now();
        await this.readAll();
      }
    } catch (err) {
      this.o.logger.warn({ err: err instanceof Error ? err.message : err }, 'presence beat failed');
    }
  }

  /** Writes our whole presence again, says hello, and reads every other node's. */
  private async resync(): Promise<void> {
    try {
      const mine = this.presence.localMetas();
      const m = this.pub.multi().del(this.hash);
      for (const { room, meta } of mine) m.hset(this.hash, `${room}\u0000${meta.ref}`, JSON.stringify(meta));
      await m.exec();
      await this.beat();
      await this.pub.publish(this.channel, JSON.stringify({ n: this.me, op: 'hello' } satisfies Message));
      await this.readAll();
    } catch (err) {
      this.o.logger.warn(
        { err: err instanceof Error ? err.message : err },
        'presence resync failed; retried on reconnect',
      );
    }
  }

  /** Every other node's hash, and nodes we hold metas of that are no longer beating. */
  private async readAll(): Promise<void> {
    const nodes = await this.pub.zrange(this.nodes, 0, -1);
    for (const node of nodes) if (node !== this.me) await this.readNode(node);
    for (const node of this.presence.remoteNodes()) if (!nodes.includes(node)) this.presence.nodeGone(node);
  }

  private async readNode(node: string): Promise<void> {
    const since = performance.now();
    const all = await this.pub.hgetall(this.hashPrefix + node);
    const metas: Array<{ room: string; meta: MetaRecord }> = [];
    for (const [field, json] of Object.entries(all)) {
      const room = field.slice(0, field.indexOf('\u0000'));
      metas.push({ room, meta: JSON.parse(json) as MetaRecord });
    }
    this.presence.replaceNode(node, metas, since);
  }

  private onMessage(text: string): void {
    let m: Message;
    try {
      m = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (m.n === this.me) return;
    switch (m.op) {
      case 'set':
        return this.presence.remoteSet(m.room, { ...m.meta, node: m.n });
      case 'del':
        return this.presence.remoteRemove(m.room, m.ref, m.n);
      case 'bc':
        return this.presence.remoteBroadcast(m.msg);
      case 'hello':
        void this.readNode(m.n).catch(() => {});
        return;
      case 'gone':
        if (m.node !== this.me) this.presence.nodeGone(m.node);
        else void this.resync();
        return;
    }
  }
}
