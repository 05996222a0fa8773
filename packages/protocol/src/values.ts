/**
 * A row as it travels on the wire. Postgres values are mapped so nothing is
 * lost: int2/int4/float4/float8 → number, bool → boolean, json/jsonb → parsed
 * JSON, and everything else — including int8 and numeric, which JavaScript
 * numbers would round — as Postgres's own text form.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type Row = Record<string, JsonValue>;
