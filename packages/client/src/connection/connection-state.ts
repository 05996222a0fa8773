/**
 * Connection lifecycle as an explicit state machine. The table below is the
 * whole truth: `satisfies` makes the compiler check that every state is
 * listed, every event name is real and every target is a state.
 *
 *            start              hello
 *   idle ──────────▶ connecting ──────▶ open
 *                      ▲    │             │
 *                retry │    │ drop        │ drop (end, error, liveness timeout)
 *                      │    ▼             │
 *                     backoff ◀───────────┘
 *
 *   idle | connecting | open | backoff ──close──▶ closed   (user close or fatal error)
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';
export type ConnectionEvent = 'start' | 'hello' | 'drop' | 'retry' | 'close';

type TransitionTable = {
  readonly [S in ConnectionState]: { readonly [E in ConnectionEvent]?: ConnectionState };
};

export const TRANSITIONS = {
  idle: { start: 'connecting', close: 'closed' },
  connecting: { hello: 'open', drop: 'backoff', close: 'closed' },
  open: { drop: 'backoff', close: 'closed' },
  backoff: { retry: 'connecting', close: 'closed' },
  closed: {},
} as const satisfies TransitionTable;

/** Events that are legal in state S, derived from the table (for callers that know S statically). */
export type EventsIn<S extends ConnectionState> = keyof (typeof TRANSITIONS)[S];

// The same table widened so it can be indexed with a state known only at runtime.
const table: TransitionTable = TRANSITIONS;

export class ConnectionMachine {
  private current: ConnectionState = 'idle';

  get state(): ConnectionState {
    return this.current;
  }

  can(event: ConnectionEvent): boolean {
    return table[this.current][event] !== undefined;
  }

  /**
   * Applies `event`; returns false (and changes nothing) when the table has no
   * such transition. Async code races with close(), so an illegal event is an
   * expected "too late", not a bug worth throwing for.
   */
  send(event: ConnectionEvent): boolean {
    const next = table[this.current][event];
    if (next === undefined) return false;
    this.current = next;
    return true;
  }
}
