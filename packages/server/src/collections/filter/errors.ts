/** The filter definition itself is wrong (bad shape, unknown column, operator/type mismatch). A config error. */
export class FilterCompileError extends Error {
  override readonly name = 'FilterCompileError';
}

/**
 * Params or claims can't be bound to the filter. Caused by the client's request (or its token),
 * so it maps to the protocol's BAD_REQUEST; `ref` lets callers tell a missing claim from a bad param.
 */
export class FilterBindError extends Error {
  override readonly name = 'FilterBindError';
  readonly code = 'BAD_REQUEST' as const;
  constructor(
    message: string,
    readonly ref: { param: string } | { claim: string },
  ) {
    super(message);
  }
}

/**
 * A row handed to `matches` breaks the wire contract (missing filter column, value of the wrong JS type).
 * Never the client's fault: typically an UPDATE whose unchanged TOASTed column was not merged back in.
 */
export class FilterRowError extends Error {
  override readonly name = 'FilterRowError';
}

/** Internal: a value that doesn't fit a column type. Callers rewrap it with context. */
export class CoercionError extends Error {
  override readonly name = 'CoercionError';
}
