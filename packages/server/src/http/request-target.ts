/**
 * The request target, parsed without trusting it. `new URL()` throws on targets
 * such as `http://[/v1/health` (absolute form with a host it rejects); one such
 * line must get a 400, never reach the process's `uncaughtException`.
 */
export function parseTarget(raw: string | undefined): URL | null {
  try {
    return new URL(raw ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}
