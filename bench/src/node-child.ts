/**
 * A Node child process with an IPC channel: the Syncline server, the broadcast
 * floor, the connection clients. Run through tsx so entry points may be
 * TypeScript. Requests carry an id and the child answers with the same id
 * (see child-ipc.ts for the child's side).
 *
 * Cleanup does not depend on the bench reaching its `finally`: the child is
 * SIGKILLed when this process exits, and a child whose IPC channel closes (the
 * bench was killed outright) ends itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { sleep } from './database.ts';

export interface NodeChildOptions {
  repoRoot: string;
  /** Entry point, relative to repoRoot or absolute. */
  script: string;
  args?: string[];
  /** Node flags, placed before `--conditions=@syncline/source --import tsx`. */
  nodeArgs?: string[];
  /** Modules imported after tsx and before the script (absolute file URLs). */
  imports?: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** For messages: "syncline", "broadcast floor", … */
  name: string;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class NodeChild {
  private out = '';
  private exitInfo: string | null = null;
  private readonly exited: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly listeners: Array<(msg: Record<string, unknown>) => void> = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
  ) {
    const keep = (chunk: Buffer) => {
      this.out = (this.out + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const orphanGuard = () => child.kill('SIGKILL');
    process.once('exit', orphanGuard);
    child.on('message', (raw) => {
      const msg = raw as Record<string, unknown>;
      const id = typeof msg['id'] === 'number' ? msg['id'] : null;
      const p = id === null ? undefined : this.pending.get(id);
      if (p && id !== null) {
        this.pending.delete(id);
        clearTimeout(p.timer);
        if (typeof msg['error'] === 'string') p.reject(new Error(`${this.name}: ${msg['error']}`));
        else p.resolve(msg);
        return;
      }
      for (const l of this.listeners) l(msg);
    });
    this.exited = new Promise((resolve) => {
      const done = (info: string) => {
        this.exitInfo = info;
        process.off('exit', orphanGuard);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`${this.name} exited (${info}):\n${this.out}`));
        }
        this.pending.clear();
        resolve();
      };
      child.once('exit', (code, signal) => done(signal ? `signal ${signal}` : `code ${code}`));
      child.on('error', (err) => {
        keep(Buffer.from(`${err.message}\n`));
        // Never started, so there will be no 'exit'.
        if (child.pid === undefined) done(`spawn failed: ${err.message}`);
      });
    });
  }

  static spawn(o: NodeChildOptions): NodeChild {
    const imports = ['tsx', ...(o.imports ?? [])].flatMap((m) => ['--import', m]);
    // Workspace packages resolve to their sources, not dist (see their exports maps).
    const loader = ['--conditions=@syncline/source', ...imports];
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), ...loader, o.script, ...(o.args ?? [])], {
      cwd: o.repoRoot,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new NodeChild(child, o.name);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Non-null once the process has exited (`code N` or `signal S`). */
  get exit(): string | null {
    return this.exitInfo;
  }

  /** What the process printed (last 20 kB). */
  get log(): string {
    return this.out;
  }

  /** Messages the child sends on its own (not answers to requests). */
  onMessage(listener: (msg: Record<string, unknown>) => void): void {
    this.listeners.push(listener);
  }

  /** Fire and forget. */
  send(msg: Record<string, unknown>): void {
    if (this.exitInfo === null && this.child.connected) this.child.send(msg);
  }

  /** Sends `msg` with an id; resolves with the child's answer (rejects on `{ error }`, exit or timeout). */
  request<T>(msg: Record<string, unknown>, timeoutMs: number): Promise<T> {
    if (this.exitInfo !== null)
      return Promise.reject(new Error(`${this.name} exited (${this.exitInfo}):\n${this.out}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${String(msg['type'])} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ ...msg, id });
    });
  }

  /** Resolves when the child has exited. */
  wait(): Promise<void> {
    return this.exited;
  }

  /** `signal` (default SIGTERM), SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.exitInfo !== null) return;
    this.child.kill(signal);
    const killed = await Promise.race([this.exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (killed) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
