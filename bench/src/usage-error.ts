/** A bad command line: main prints it with the usage and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--name` as an integer ≥ min, or `dflt` when absent. */
export function intOption(name: string, value: string | undefined, dflt: number, min: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** `--name value` from argv, or undefined. */
export function optionValues(argv: string[]): (name: string) => string | undefined {
  return (name) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
}
