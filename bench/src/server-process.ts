/**
 * The Syncline server under test, in its own process (as in production, and so
 * the bench's subscribers do not share its event loop):
 * `node --conditions=@syncline/source --import tsx packages/server/src/cli.ts --config <file>`, with
 * server-probe.ts imported first so the bench can read its heap over IPC.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sleep } from './database.ts';
import { NodeChild } from './node-child.ts';

export interface ServerProcessOptions {
  repoRoot: string;
  databaseUrl: string;
  port: number;
  /** HS256 secret (SYNCLINE_JWT_SECRET), ≥ 32 characters. */
  jwtSecret: string;
  /** Token for the bench's own requests (`/v1/sync/stats`). */
  adminToken: string;
  /** Contents of the config file (a module default-exporting the options). */
  config: string;
  /** Config file name under .syncline/bench/. */
  configName: string;
  /** Node flags for the server, e.g. `--expose-gc`. */
  nodeArgs?: string[];
  /** More environment, e.g. REDIS_URL for a cluster node. */
  env?: Record<string, string>;
}

export interface ServerMemory {
  /** Bytes, from /proc (NaN elsewhere). */
  rss: number;
  /** V8's heap statistics, bytes. */
  heapUsed: number;
  heapTotal: number;
  /** Memory outside the heap that V8 is told about (buffers). */
  external: number;
  /** A full GC ran just before (the server runs with --expose-gc). */
  collected: boolean;
}

export class ServerProcess {
  readonly url: string;

  private constructor(
    private readonly child: NodeChild,
    port: number,
    private readonly adminToken: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /**
   * A node of a benchmark: its config is `options` plus its own slot and publication
   * (`pub_<slot>`); nodes given one slot and a Redis URL form a cluster.
   */
  static node(
    base: { repoRoot: string; databaseUrl: string; databaseName: string; jwtSecret: string; adminToken: string },
    slot: string,
    port: number,
    options: Record<string, unknown>,
    redisUrl?: string,
  ): Promise<ServerProcess> {
    return ServerProcess.start({
      repoRoot: base.repoRoot,
      databaseUrl: base.databaseUrl,
      port,
      jwtSecret: base.jwtSecret,
      adminToken: base.adminToken,
      configName: `${base.databaseName}-${slot}-${port}.config.ts`,
      config: `export default ${JSON.stringify({ ...options, slot, publication: `pub_${slot}` })};\n`,
      ...(redisUrl ? { env: { REDIS_URL: redisUrl } } : {}),
    });
  }

  static async start(o: ServerProcessOptions): Promise<ServerProcess> {
    const dir = path.join(o.repoRoot, '.syncline', 'bench');
    mkdirSync(dir, { recursive: true });
    const configPath = path.join(dir, o.configName);
    writeFileSync(configPath, o.config);
    const child = NodeChild.spawn({
      name: 'syncline',
      repoRoot: o.repoRoot,
      script: path.join('packages', 'server', 'src', 'cli.ts'),
      args: ['--config', configPath],
      nodeArgs: o.nodeArgs ?? [],
      imports: [pathToFileURL(path.join(o.repoRoot, 'bench', 'src', 'server-probe.ts')).href],
      env: {
        DATABASE_URL: o.databaseUrl,
        PORT: String(o.port),
        LOG_LEVEL: 'silent',
        SYNCLINE_JWT_SECRET: o.jwtSecret,
        ...o.env,
      },
    });
    const server = new ServerProcess(child, o.port, o.adminToken);
    try {
      await server.waitHealthy(60_000);
    } catch (e) {
      await server.stop();
      throw e;
    } finally {
      // Read once at startup; removing it now leaves nothing behind even if the bench is killed.
      rmSync(configPath, { force: true });
    }
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Non-null once the process has exited (`code N` or `signal S`). */
  get exit(): string | null {
    return this.child.exit;
  }

  /** Whatever the process printed (last 20 kB); with LOG_LEVEL=silent, only crashes. */
  get log(): string {
    return this.child.log;
  }

  /** Resident set size in MiB (Linux /proc), or NaN. */
  rssMiB(): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : NaN;
    } catch {
      return NaN;
    }
  }

  /** Open file descriptors (Linux /proc), or NaN. */
  openFiles(): number {
    try {
      return readdirSync(`/proc/${this.child.pid}/fd`).length;
    } catch {
      return NaN;
    }
  }

  /** Soft limit on open files of the server process (Linux /proc), or NaN. */
  fileLimit(): number {
    try {
      const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync(`/proc/${this.child.pid}/limits`, 'utf8'));
      return m?.[1] === 'unlimited' ? Infinity : Number(m?.[1]);
    } catch {
      return NaN;
    }
  }

  /** The server's heap (after a full GC if `gc`; needs `--expose-gc`), and its RSS. */
  async memory(gc: boolean): Promise<ServerMemory> {
    const heap = await this.child.request<Omit<ServerMemory, 'rss'>>({ type: 'memory', gc }, 30_000);
    return { ...heap, rss: this.rssMiB() * 1024 ** 2 };
  }

  /** GET with the bench's token; fails after 10 s (a server out of file descriptors accepts nothing). */
  async getJson(pathname: string): Promise<unknown> {
    const res = await fetch(`${this.url}${pathname}`, {
      headers: { authorization: `Bearer ${this.adminToken}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 200) throw new Error(`GET ${pathname}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  }

  /** SIGTERM (graceful: the server ends its streams and replication), SIGKILL after 10 s. */
  /** SIGKILL, as a crash. */
  kill(): Promise<void> {
    return this.child.stop(1_000, 'SIGKILL');
  }

  stop(): Promise<void> {
    return this.child.stop(10_000);
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let last = '';
    while (performance.now() < deadline) {
      if (this.exit !== null) throw new Error(`syncline exited (${this.exit}) before it was healthy:\n${this.log}`);
      try {
        const res = await fetch(`${this.url}/v1/health`);
        last = `HTTP ${res.status}`;
        await res.body?.cancel();
        if (res.status === 200) return;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await sleep(100);
    }
    throw new Error(`syncline not healthy after ${timeoutMs} ms (last: ${last}):\n${this.log}`);
  }
}
