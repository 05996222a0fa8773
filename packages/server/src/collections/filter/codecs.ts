import type { Codec } from './codec.ts';
import { floatCodec, int8Codec, intCodec, numericCodec } from './number-codecs.ts';
import { bpcharCodec, boolCodec, jsonCodec, nameCodec, otherCodec, textLikeCodec, uuidCodec } from './text-codecs.ts';
import { dateCodec, timestampCodec, timestamptzCodec } from './time-codecs.ts';

/** Type oids with dedicated handling; anything else is compared as text (see otherCodec). */
export const PG_TYPE_OIDS = {
  bool: 16,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

const O = PG_TYPE_OIDS;
const KNOWN = new Map<number, Codec>([
  [O.bool, boolCodec],
  [O.name, nameCodec],
  [O.int8, int8Codec],
  [O.int2, intCodec('int2', 16)],
  [O.int4, intCodec('int4', 32)],
  [O.text, textLikeCodec],
  [O.json, jsonCodec('json')],
  [O.float4, floatCodec('float4', true)],
  [O.float8, floatCodec('float8', false)],
  [O.bpchar, bpcharCodec],
  [O.varchar, textLikeCodec],
  [O.date, dateCodec],
  [O.timestamp, timestampCodec],
  [O.timestamptz, timestamptzCodec],
  [O.numeric, numericCodec],
  [O.uuid, uuidCodec],
  [O.jsonb, jsonCodec('jsonb')],
]);

const others = new Map<number, Codec>();

export function codecFor(typeOid: number): Codec {
  const known = KNOWN.get(typeOid) ?? others.get(typeOid);
  if (known) return known;
  const codec = otherCodec(typeOid);
  others.set(typeOid, codec);
  return codec;
}
