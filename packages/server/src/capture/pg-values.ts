/**
 * One mapping from Postgres text output to wire JSON, used by both the
 * replication stream and snapshot queries so a row looks the same whichever
 * path it took. Nothing is rounded: int8 and numeric stay strings.
 */
import type { JsonValue } from '@syncline/protocol';

export const PG_TYPE = {
  bool: 16,
  int8: 20,
  int2: 21,
  int4: 23,
  json: 114,
  float4: 700,
  float8: 701,
  numeric: 1700,
  jsonb: 3802,
} as const;

export function decodeValue(typeOid: number, text: string): JsonValue {
  switch (typeOid) {
    case PG_TYPE.int2:
    case PG_TYPE.int4:
      return Number(text);
    case PG_TYPE.float4:
    case PG_TYPE.float8:
      // NaN and ±Infinity have no JSON number; keep Postgres's spelling.
      return /^-?(Infinity|NaN)$/.test(text) ? text : Number(text);
    case PG_TYPE.bool:
      return text === 't';
    case PG_TYPE.json:
    case PG_TYPE.jsonb:
      return JSON.parse(text) as JsonValue;
    default:
      return text;
  }
}

/**
 * Session settings that make text output identical on every connection:
 * timestamps in UTC and ISO form, shortest exact floats.
 */
export const SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=1';

/** node-postgres `types` override so query results use {@link decodeValue}. */
export const wireTypes = {
  getTypeParser: (oid: number) => (text: string) => decodeValue(oid, text),
};
