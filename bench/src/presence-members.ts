/**
 * Many presence members for `npm run bench -- presence`: plain `ws` clients,
 * one user each, spread over the given nodes. Each keeps its view of one room
 * (users → metas, from PRESENCE_STATE then PRESENCE_DIFF) and counts what it
 * received: presence messages, and meta updates of other members.
 */
import WebSocket from 'ws';

interface Member {
  ws: WebSocket;
  /** Its own user: its own metas in a diff are not counted as updates. */
  self: string;
  users: Map<string, number>;
}

export class PresenceMembers {
  messages = 0;
  /** Metas of other users received in diffs (joins: a join or a state update). */
  updates = 0;
  bytes = 0;
  errors = 0;
  private readonly members: Member[] = [];
  private hellos = 0;

  constructor(
    private readonly urls: readonly string[],
    private readonly tokens: readonly string[],
    private readonly prefix: string,
    /** Member i is user `<userPrefix>-<i>` (the tokens' subjects). */
    private readonly userPrefix: string,
  ) {}

  /** Opens `count` connections (no room yet) and waits for every HELLO. */
  async open(count: number, timeoutMs: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const base = (this.urls[i % this.urls.length] as string).replace(/^http/, 'ws');
      const ws = new WebSocket(
        `${base}/v1/sync/ws?token=${encodeURIComponent(this.tokens[i] ?? '')}&clientId=${this.prefix}-${i}`,
        { perMessageDeflate: false },
      );
      const m: Member = { ws, self: `${this.userPrefix}-${i}`, users: new Map() };
      this.members.push(m);
      ws.on('message', (data: Buffer) => this.handle(m, data));
      ws.on('error', () => this.errors++);
    }
    const deadline = performance.now() + timeoutMs;
    while (this.hellos < count) {
      if (performance.now() > deadline) throw new Error(`only ${this.hellos} of ${count} connections said hello`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Member i sets its state in `room` (the first time: joins). */
  set(i: number, room: string, state: unknown): void {
    this.members[i]?.ws.send(JSON.stringify({ type: 'PRESENCE_SET', room, state }));
  }

  /** Members whose view holds `n` users. */
  seeing(n: number): number {
    return this.members.filter((m) => m.users.size === n).length;
  }

  close(): void {
    for (const m of this.members) m.ws.terminate();
  }

  private handle(m: Member, data: Buffer): void {
    this.bytes += data.length;
    const msg = JSON.parse(data.toString('utf8')) as {
      type: string;
      members?: Record<string, unknown[]>;
      joins?: Record<string, unknown[]>;
      leaves?: Record<string, unknown[]>;
    };
    if (msg.type === 'HELLO') return void this.hellos++;
    if (msg.type === 'ERROR') return void this.errors++;
    if (msg.type === 'PRESENCE_STATE') {
      this.messages++;
      m.users = new Map(Object.entries(msg.members ?? {}).map(([u, metas]) => [u, metas.length]));
    } else if (msg.type === 'PRESENCE_DIFF') {
      this.messages++;
      for (const [u, metas] of Object.entries(msg.leaves ?? {})) {
        const left = (m.users.get(u) ?? 0) - metas.length;
        if (left > 0) m.users.set(u, left);
        else m.users.delete(u);
      }
      for (const [u, metas] of Object.entries(msg.joins ?? {})) {
        if (u !== m.self) this.updates += metas.length;
        if (!m.users.has(u)) m.users.set(u, metas.length);
      }
    }
  }
}
