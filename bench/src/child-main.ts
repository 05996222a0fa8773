/**
 * For benchmarks that measure in a child Node of their own (`client`, `client-react`):
 * its entry point, and a wait that polls the event loop instead of using timers.
 */

/** When `self` is the script Node runs: `measure(rows, count)`, its result printed as JSON, then exit. */
export function runAsChild(self: string, measure: (rows: number, count: number) => Promise<unknown>): void {
  if (process.argv[1] !== self) return;
  const [rows, count] = process.argv.slice(2).map(Number);
  measure(rows ?? 1000, count ?? 400).then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

/** Waits for `done()` without the client's timers: polls on the microtask, then the macrotask queue. */
export async function until(done: () => boolean, what: string): Promise<void> {
  for (let spins = 0; !done(); spins++) {
    if (spins > 1_000_000) throw new Error(`${what}: timed out waiting`);
    await (spins < 50 ? Promise.resolve() : new Promise((r) => setImmediate(r)));
  }
}
