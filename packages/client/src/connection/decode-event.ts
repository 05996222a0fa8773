import type { Change, SnapshotRow, ServerMessageKind, ServerMessages } from '@syncline/protocol';
import { protocolCode } from '../store/sync-error.ts';
import type { SseEvent } from './sse-parser.ts';

/**
 * Turns an SSE event into a typed protocol message. The checks are the
 * minimum that keeps a malformed payload from corrupting the store (wrong
 * types on the fields we index or compare); a full schema would cost the
 * browser bundle a validator for data our own server produced.
 */
export type DecodedEvent = { [K in ServerMessageKind]: { type: K; message: ServerMessages[K] } }[ServerMessageKind];

export type DecodeResult = DecodedEvent | 'unknown' | 'malformed';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const OPS = new Set(['insert', 'update', 'delete']);

function isChange(v: unknown): v is Change {
  if (!isObj(v) || !isStr(v.subscription) || !isStr(v.op) || !OPS.has(v.op) || !isStr(v.key) || !isNum(v.version)) {
    return false;
  }
  // insert/update carry the full row; a delete's row is null.
  return v.op === 'delete' ? v.row === null || isObj(v.row) : isObj(v.row);
}

const isSnapshotRow = (v: unknown): v is SnapshotRow => isObj(v) && isStr(v.key) && isObj(v.row) && isNum(v.version);

const isMeta = (v: unknown): boolean => isObj(v) && isStr(v.ref) && isNum(v.onlineAt);
const isMembers = (m: Obj): boolean => Object.values(m).every((metas) => Array.isArray(metas) && metas.every(isMeta));

const validators: { [K in ServerMessageKind]: (m: Obj) => boolean } = {
  hello: (m) => isStr(m.connectionId) && isNum(m.heartbeatMs),
  snapshot: (m) =>
    isStr(m.subscription) &&
    isStr(m.table) &&
    isStr(m.cursor) &&
    typeof m.done === 'boolean' &&
    Array.isArray(m.rows) &&
    m.rows.every(isSnapshotRow),
  changes: (m) => isStr(m.cursor) && Array.isArray(m.changes) && m.changes.every(isChange),
  ack: (m) => isStr(m.cursor) && (m.mutations === undefined || Array.isArray(m.mutations)),
  resync: (m) => isStr(m.subscription),
  error: (m) => isStr(m.code) && (m.subscription === undefined || isStr(m.subscription)),
  ping: () => true,
  subscribed: (m) => isStr(m.id) && isStr(m.table),
  presence_state: (m) => isStr(m.room) && isObj(m.members) && isNum(m.count) && isMembers(m.members),
  presence_diff: (m) =>
    isStr(m.room) && isObj(m.joins) && isObj(m.leaves) && isNum(m.count) && isMembers(m.joins) && isMembers(m.leaves),
  broadcast: (m) => isStr(m.room) && isStr(m.from) && isStr(m.event),
};

const isKnown = (type: string): type is ServerMessageKind => Object.hasOwn(validators, type);

export function decodeEvent(event: Pick<SseEvent, 'type' | 'data' | 'message'>): DecodeResult {
  const { type } = event;
  // Unknown event names are skipped, not failed: servers may add events (PROTOCOL.md: "may carry more").
  if (!isKnown(type)) return 'unknown';
  let message: unknown = event.message;
  if (message === undefined) {
    try {
      message = JSON.parse(event.data);
    } catch {
      return 'malformed';
    }
  }
  if (!isObj(message) || !validators[type](message)) return 'malformed';
  if (type === 'error') {
    if (!isStr(message.message)) message.message = '';
    message.code = protocolCode(message.code as string); // a newer server's code reads as INTERNAL
  }
  return { type, message } as DecodedEvent;
}
