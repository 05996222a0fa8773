/**
 * Decodes pgoutput protocol version 1 messages (the payload of XLogData).
 * Format: https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 */
import type { PgoutputMessage, Relation, TupleValue } from './pgoutput-messages.ts';
import { UNCHANGED_TOAST } from './pgoutput-messages.ts';

class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}
  u8(): number {
    return this.buf.readUInt8(this.offset++);
  }
  i16(): number {
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  i64(): bigint {
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0) throw new Error('pgoutput: unterminated string');
    const s = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
}

const IDENTITY = { d: 'default', n: 'nothing', f: 'full', i: 'index' } as const;

export function decodePgoutput(buf: Buffer): PgoutputMessage {
  const r = new Reader(buf);
  const tag = String.fromCharCode(r.u8());
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: r.u64(), commitTime: r.i64(), xid: r.u32() };
    case 'C': {
      r.u8(); // flags, unused
      return { tag: 'commit', commitLsn: r.u64(), endLsn: r.u64(), commitTime: r.i64() };
    }
    case 'O':
      return { tag: 'origin', originLsn: r.u64(), name: r.cstring() };
    case 'R':
      return { tag: 'relation', relation: readRelation(r) };
    case 'Y':
      return { tag: 'type', oid: r.u32(), schema: r.cstring(), name: r.cstring() };
    case 'I': {
      const relationOid = r.u32();
      expect(r.u8(), 'N');
      return { tag: 'insert', relationOid, newTuple: readTuple(r) };
    }
    case 'U': {
      const relationOid = r.u32();
      let kind = String.fromCharCode(r.u8());
      let oldTuple: TupleValue[] | null = null;
      if (kind === 'K' || kind === 'O') {
        oldTuple = readTuple(r);
        kind = String.fromCharCode(r.u8());
      }
      if (kind !== 'N') throw new Error(`pgoutput: update without new tuple (${kind})`);
      return { tag: 'update', relationOid, oldTuple, newTuple: readTuple(r) };
    }
    case 'D': {
      const relationOid = r.u32();
      r.u8(); // 'K' or 'O'
      return { tag: 'delete', relationOid, oldTuple: readTuple(r) };
    }
    case 'T': {
      const n = r.i32();
      const options = r.u8();
      const relationOids: number[] = [];
      for (let i = 0; i < n; i++) relationOids.push(r.u32());
      return { tag: 'truncate', relationOids, cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0 };
    }
    case 'M': {
      const flags = r.u8();
      const lsn = r.u64();
      const prefix = r.cstring();
      const len = r.i32();
      return { tag: 'message', transactional: (flags & 1) !== 0, lsn, prefix, content: Buffer.from(r.bytes(len)) };
    }
    default:
      throw new Error(`pgoutput: unknown message tag ${JSON.stringify(tag)}`);
  }
}

function expect(byte: number, ch: string): void {
  if (byte !== ch.charCodeAt(0)) throw new Error(`pgoutput: expected ${ch}, got ${String.fromCharCode(byte)}`);
}

function readRelation(r: Reader): Relation {
  const oid = r.u32();
  const schema = r.cstring();
  const name = r.cstring();
  const identity = String.fromCharCode(r.u8()) as keyof typeof IDENTITY;
  const n = r.i16();
  const columns = [];
  for (let i = 0; i < n; i++) {
    const flags = r.u8();
    columns.push({ isKey: (flags & 1) !== 0, name: r.cstring(), typeOid: r.u32(), typeMod: r.i32() });
  }
  return {
    oid,
    schema,
    name,
    qualified: `${schema}.${name}`,
    replicaIdentity: IDENTITY[identity] ?? 'default',
    columns,
  };
}

function readTuple(r: Reader): TupleValue[] {
  const n = r.i16();
  const values: TupleValue[] = [];
  for (let i = 0; i < n; i++) {
    const kind = String.fromCharCode(r.u8());
    if (kind === 'n') values.push(null);
    else if (kind === 'u') values.push(UNCHANGED_TOAST);
    else if (kind === 't') values.push(r.bytes(r.i32()).toString('utf8'));
    else throw new Error(`pgoutput: unsupported tuple value kind ${kind}`);
  }
  return values;
}
