/**
 * A tiny typed event emitter. Listener errors are caught and reported: a
 * throwing UI callback must never abort the loop that applies the stream,
 * or one bad component would force a reconnect (and replay) for everybody.
 */
export type Listener<T> = (payload: T) => void;

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  constructor(private readonly reportError: (error: unknown) => void = defaultReport) {}

  /** Returns a function that removes the listener (idempotent). */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    // Copy: a listener may unsubscribe itself (or others) while we iterate.
    for (const listener of [...set] as Listener<Events[K]>[]) {
      try {
        listener(payload);
      } catch (error) {
        this.reportError(error);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}

function defaultReport(error: unknown): void {
  console.error('[syncline] listener threw', error);
}
