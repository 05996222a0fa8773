/**
 * A tiny typed emitter for the mutation layer. Listener errors are caught and
 * reported so one throwing UI callback cannot abort confirming or rolling back.
 */
export type Listener<T> = (payload: T) => void;

export class TypedEmitter<Events extends object> {
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
    for (const listener of [...set] as Listener<Events[K]>[]) {
      try {
        listener(payload);
      } catch (error) {
        this.reportError(error);
      }
    }
  }
}

function defaultReport(error: unknown): void {
  console.error('[syncline] listener threw', error);
}
