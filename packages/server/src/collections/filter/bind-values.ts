/** Turning params, claims and constants into bound values, with errors that name the culprit. */
import type { BoundValue, Column } from './bound-filter.ts';
import type { Bindable, Codec } from './codec.ts';
import { CoercionError, FilterBindError } from './errors.ts';
import { FILTER_LIMITS } from './filter-types.ts';

export function bindValue(codec: Codec, value: Bindable): NonNullable<BoundValue> {
  const norm = codec.fromBind(value);
  return { norm, key: codec.key(norm), sql: codec.toSql(norm) };
}

type RefTag = { param: string } | { claim: string };
const tag = (kind: 'param' | 'claim', name: string): RefTag => (kind === 'param' ? { param: name } : { claim: name });

export function lookup(source: Record<string, unknown>, kind: 'param' | 'claim', name: string): unknown {
  // hasOwn: a param named "constructor" must not resolve to Object.prototype's.
  const value = source !== null && Object.hasOwn(source, name) ? source[name] : undefined;
  if (value === undefined) throw new FilterBindError(`missing ${kind} "${name}"`, tag(kind, name));
  return value;
}

export function bindExternal(
  value: unknown,
  col: Column,
  kind: 'param' | 'claim',
  name: string,
  index?: number,
): BoundValue {
  const label = `${kind} "${name}"${index === undefined ? '' : `[${index}]`} for column "${col.name}"`;
  if (value === null) return null;
  if (
    typeof value !== 'string' &&
    typeof value !== 'boolean' &&
    !(typeof value === 'number' && Number.isFinite(value))
  ) {
    const what = Array.isArray(value) ? 'an array' : typeof value === 'number' ? String(value) : typeof value;
    throw new FilterBindError(
      `${label}: expected a single string, number, boolean or null, got ${what}`,
      tag(kind, name),
    );
  }
  try {
    return bindValue(col.codec, value);
  } catch (e) {
    if (e instanceof CoercionError) throw new FilterBindError(`${label}: ${e.message}`, tag(kind, name));
    throw e;
  }
}

export function bindList(params: Record<string, unknown>, name: string, col: Column): BoundValue[] {
  const list = lookup(params, 'param', name);
  if (!Array.isArray(list)) {
    throw new FilterBindError(`param "${name}" for column "${col.name}" must be an array (used with in)`, {
      param: name,
    });
  }
  if (list.length > FILTER_LIMITS.maxListLength) {
    throw new FilterBindError(`param "${name}" has more than ${FILTER_LIMITS.maxListLength} values`, { param: name });
  }
  return list.map((v: unknown, i) => bindExternal(v, col, 'param', name, i));
}
