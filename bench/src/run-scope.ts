/**
 * What every benchmark run needs around it: Ctrl-C and stray errors abort it
 * (the loops notice at their next step), and whatever it started is cleaned up
 * in reverse order, also when it fails.
 */
export interface RunScope {
  /** Aborted on Ctrl-C (reason: Error('interrupted')) or on an error outside the run's await chain. */
  signal: AbortSignal;
  /** For 'error' events of long-lived objects: aborts the run. */
  fatal(err: unknown): void;
  /** Runs at the end, last registered first. */
  defer(name: string, cleanup: () => Promise<void>): void;
}

export async function withRunScope(run: (scope: RunScope) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  const onSigint = () => abort.abort(new Error('interrupted'));
  const fatal = (err: unknown) => abort.abort(err instanceof Error ? err : new Error(String(err)));
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  process.on('uncaughtException', fatal);
  const cleanups: Array<[string, () => Promise<void>]> = [];
  try {
    await run({ signal: abort.signal, fatal, defer: (name, cleanup) => cleanups.push([name, cleanup]) });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    process.off('uncaughtException', fatal);
    for (const [name, cleanup] of cleanups.reverse()) {
      await cleanup().catch((err: unknown) =>
        console.error(`cleanup of ${name} failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
  }
}

/** Rejects when `signal` aborts; otherwise settles like `p`. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
