import { checkText, expectString, show, type Bindable, type Codec } from './codec.ts';
import { CoercionError } from './errors.ts';

const plain = (q: string) => q;
const isNull = (q: string) => `${q} IS NULL`;
const same = (s: string) => s;

const TEXT_ORDERING =
  'lt/lte/gt/gte are not supported on text columns: Postgres orders text by collation, which the JS predicate cannot reproduce exactly';

export const boolCodec: Codec<boolean> = {
  typeName: 'bool',
  noOrdering: 'lt/lte/gt/gte are not supported on bool columns',
  compareSql: plain,
  isNullSql: isNull,
  fromBind(value) {
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new CoercionError(`expected true, false, 'true' or 'false' (bool), got ${show(value)}`);
  },
  fromRow(value) {
    if (typeof value === 'boolean') return value;
    if (value === 't' || value === 'true') return true;
    if (value === 'f' || value === 'false') return false;
    throw new CoercionError(`expected a bool, got ${show(value)}`);
  },
  toSql: String,
  key: String,
};

/**
 * text/varchar/bpchar/name: equality by code units, which is what Postgres does under a deterministic
 * collation (the default). `adjust` applies the type's own input rules so both sides see the same string.
 */
function textCodec(typeName: string, adjust: (s: string) => string): Codec<string> {
  return {
    typeName,
    noOrdering: TEXT_ORDERING,
    compareSql: plain,
    isNullSql: isNull,
    fromBind: (value) => adjust(checkText(bindableText(value, typeName))),
    fromRow: (value) => adjust(expectString(value, typeName)),
    toSql: same,
    key: same,
  };
}

// Numbers are accepted for text columns (ids often arrive as numbers); their JS text form is what's compared.
function bindableText(value: Bindable, typeName: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new CoercionError(`expected a string (${typeName}), got ${show(value)}`);
}

export const textLikeCodec = textCodec('text', same);
// bpchar comparison ignores trailing spaces, and its text output pads with them.
export const bpcharCodec = textCodec('bpchar', (s) => s.replace(/ +$/, ''));
// name input silently truncates to NAMEDATALEN-1 (63) bytes at a character boundary.
export const nameCodec = textCodec('name', (s) => clipUtf8(s, 63));

function clipUtf8(s: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > maxBytes) return s.slice(0, end);
    end += ch.length;
  }
  return s;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const uuidCodec: Codec<string> = {
  typeName: 'uuid',
  noOrdering: 'lt/lte/gt/gte are not supported on uuid columns',
  compareSql: plain,
  isNullSql: isNull,
  fromBind(value) {
    if (typeof value !== 'string' || !UUID.test(value)) {
      throw new CoercionError(`expected a uuid like 123e4567-e89b-12d3-a456-426614174000, got ${show(value)}`);
    }
    return value.toLowerCase();
  },
  fromRow: (value) => expectString(value, 'uuid').toLowerCase(),
  toSql: same,
  key: same,
};

/**
 * Types the compiler doesn't know (enums, citext, interval, domains, arrays, ...) are compared on their
 * text output via `::text`. Comparing in the type itself could disagree with JS string equality
 * (citext ignores case, interval '1 day' = '24 hours') and would raise an error for a non-label enum value.
 */
export function otherCodec(typeOid: number): Codec<string> {
  const typeName = `type oid ${typeOid}`;
  return {
    ...textCodec(typeName, same),
    noOrdering: `lt/lte/gt/gte are not supported on columns of ${typeName} (e.g. enums): they compare as text, equality only`,
    compareSql: (q) => `${q}::text`,
  };
}

/**
 * json/jsonb support only isNull. On the wire a JSON `null` is indistinguishable from SQL NULL, so
 * isNull is defined as "SQL NULL or JSON null" on both sides. Equality is refused: json has no `=`
 * and jsonb's structural/numeric equality can't be mirrored on already-parsed (possibly rounded) JSON.
 */
export function jsonCodec(typeName: 'json' | 'jsonb'): Codec<unknown> {
  return {
    typeName,
    noEquality: `eq/neq/in are not supported on ${typeName} columns (only isNull)`,
    noOrdering: `lt/lte/gt/gte are not supported on ${typeName} columns (only isNull)`,
    compareSql: plain,
    isNullSql: (q) => `(${q} IS NULL OR ${typeName}_typeof(${q}) = 'null')`,
    fromBind: () => {
      throw new CoercionError(`${typeName} columns cannot be compared`);
    },
    fromRow: (value) => value,
    toSql: (v) => JSON.stringify(v),
    key: (v) => JSON.stringify(v),
  };
}
