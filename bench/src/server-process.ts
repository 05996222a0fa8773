/**
 * The Syncline server under test, in its own process (as in production, and so
 * the 1,000 subscribers' parsing does not share its event loop):
 * `node --import tsx packages/server/src/cli.ts --config <file>`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sleep } from './database.ts';

export interface ServerProcessOptions {
  repoRoot: string;
  databaseUrl: string;
  port: number;
  /** Contents of the config file (a module default-exporting the options). */
  config: string;
  /** Config file name under .syncline/bench/. */
  configName: string;
}

export class ServerProcess {
  readonly url: string;
  private output = '';
  private exitInfo: string | null = null;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // Last resort if the bench itself dies without running its cleanup.
    const orphanGuard = () => child.kill('SIGKILL');
    process.once('exit', orphanGuard);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = signal ? `signal ${signal}` : `code ${code}`;
        process.off('exit', orphanGuard);
        resolve();
      });
      child.on('error', (err) => {
        keep(Buffer.from(`${err.message}\n`));
        if (child.pid === undefined) {
          // Never started, so there will be no 'exit'.
          this.exitInfo = `spawn failed: ${err.message}`;
          process.off('exit', orphanGuard);
          resolve();
        }
      });
    });
  }

  static async start(o: ServerProcessOptions): Promise<ServerProcess> {
    const dir = path.join(o.repoRoot, '.syncline', 'bench');
    mkdirSync(dir, { recursive: true });
    const configPath = path.join(dir, o.configName);
    writeFileSync(configPath, o.config);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join('packages', 'server', 'src', 'cli.ts'), '--config', configPath],
      {
        cwd: o.repoRoot,
        env: { ...process.env, DATABASE_URL: o.databaseUrl, PORT: String(o.port), LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const server = new ServerProcess(child, o.port);
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
    return this.exitInfo;
  }

  /** Whatever the process printed (last 20 kB); with LOG_LEVEL=silent, only crashes. */
  get log(): string {
    return this.output;
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

  async getJson(pathname: string): Promise<unknown> {
    const res = await fetch(`${this.url}${pathname}`);
    return res.json();
  }

  /** SIGTERM (graceful: the server ends its streams and replication), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.exitInfo === null) {
      this.child.kill('SIGTERM');
      const killed = await Promise.race([this.exited.then(() => false), sleep(10_000).then(() => true)]);
      if (killed) {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let last = '';
    while (performance.now() < deadline) {
      if (this.exitInfo !== null)
        throw new Error(`syncline exited (${this.exitInfo}) before it was healthy:\n${this.output}`);
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
    throw new Error(`syncline not healthy after ${timeoutMs} ms (last: ${last}):\n${this.output}`);
  }
}
