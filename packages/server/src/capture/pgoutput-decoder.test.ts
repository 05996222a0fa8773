import { describe, expect, it } from 'vitest';
import { decodePgoutput } from './pgoutput-decoder.ts';
import { UNCHANGED_TOAST } from './pgoutput-messages.ts';
import { TransactionAssembler } from './transaction-assembler.ts';
import type { CapturedTransaction } from './captured-transaction.ts';
import { formatLsn, parseLsn } from './lsn.ts';

/** Builds pgoutput v1 messages byte by byte, as Postgres sends them. */
class W {
  private parts: Buffer[] = [];
  ch(c: string) {
    this.parts.push(Buffer.from(c, 'latin1'));
    return this;
  }
  u8(n: number) {
    const b = Buffer.alloc(1);
    b.writeUInt8(n);
    this.parts.push(b);
    return this;
  }
  i16(n: number) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  i32(n: number) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  u64(n: bigint) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    this.parts.push(b);
    return this;
  }
  str(s: string) {
    this.parts.push(Buffer.from(s + '\0', 'utf8'));
    return this;
  }
  text(s: string) {
    const v = Buffer.from(s, 'utf8');
    this.ch('t').i32(v.length);
    this.parts.push(v);
    return this;
  }
  done() {
    return Buffer.concat(this.parts);
  }
}

const begin = (xid: number) => new W().ch('B').u64(100n).u64(0n).i32(xid).done();
const commit = (end: bigint) =>
  new W()
    .ch('C')
    .u8(0)
    .u64(end - 8n)
    .u64(end)
    .u64(1_000_000n)
    .done();
const relation = new W()
  .ch('R')
  .i32(16384)
  .str('public')
  .str('item')
  .ch('f')
  .i16(3)
  .u8(1)
  .str('id')
  .i32(25)
  .i32(-1)
  .u8(1)
  .str('big')
  .i32(20)
  .i32(-1)
  .u8(1)
  .str('body')
  .i32(25)
  .i32(-1)
  .done();

describe('pgoutput decoder', () => {
  it('decodes relation, insert with NULL and text, and keeps int8 as text', () => {
    const rel = decodePgoutput(relation);
    expect(rel).toMatchObject({ tag: 'relation', relation: { qualified: 'public.item', replicaIdentity: 'full' } });
    const ins = decodePgoutput(
      new W().ch('I').i32(16384).ch('N').i16(3).text('a').text('9007199254740993').ch('n').done(),
    );
    expect(ins).toEqual({ tag: 'insert', relationOid: 16384, newTuple: ['a', '9007199254740993', null] });
  });

  it('decodes update with old tuple and unchanged TOAST marker, delete, truncate, message', () => {
    const upd = decodePgoutput(
      new W()
        .ch('U')
        .i32(16384)
        .ch('O')
        .i16(3)
        .text('a')
        .text('1')
        .text('long')
        .ch('N')
        .i16(3)
        .text('a')
        .text('2')
        .ch('u')
        .done(),
    );
    expect(upd).toEqual({
      tag: 'update',
      relationOid: 16384,
      oldTuple: ['a', '1', 'long'],
      newTuple: ['a', '2', UNCHANGED_TOAST],
    });
    expect(decodePgoutput(new W().ch('D').i32(16384).ch('O').i16(3).text('a').ch('n').ch('n').done())).toMatchObject({
      tag: 'delete',
    });
    expect(decodePgoutput(new W().ch('T').i32(2).u8(1).i32(1).i32(2).done())).toEqual({
      tag: 'truncate',
      relationOids: [1, 2],
      cascade: true,
      restartIdentity: false,
    });
    const m = decodePgoutput(new W().ch('M').u8(1).u64(5n).str('syncline').i32(2).ch('hi').done());
    expect(m).toMatchObject({ tag: 'message', transactional: true, prefix: 'syncline' });
  });

  it('rejects unknown tags loudly', () => {
    expect(() => decodePgoutput(Buffer.from('Z'))).toThrow(/unknown message tag/);
  });
});

describe('transaction assembler', () => {
  function run(msgs: Buffer[], limits = { maxChanges: 100, maxBytes: 1 << 20 }): CapturedTransaction[] {
    const out: CapturedTransaction[] = [];
    const a = new TransactionAssembler(limits, (tx) => out.push(tx));
    for (const m of msgs) a.push(decodePgoutput(m));
    return out;
  }

  it('assembles a whole transaction with xid and commit end LSN, filling unchanged TOAST from the old row', () => {
    const [tx] = run([
      begin(42),
      relation,
      new W()
        .ch('U')
        .i32(16384)
        .ch('O')
        .i16(3)
        .text('a')
        .text('1')
        .text('long text')
        .ch('N')
        .i16(3)
        .text('a')
        .text('2')
        .ch('u')
        .done(),
      commit(0x1000n),
    ]);
    expect(tx).toMatchObject({ xid: 42, lsn: 0x1000n, truncated: [], oversizedTables: null });
    expect(tx?.changes).toEqual([
      {
        table: 'public.item',
        op: 'update',
        old: { id: 'a', big: '1', body: 'long text' },
        row: { id: 'a', big: '2', body: 'long text' },
      },
    ]);
  });

  it('drops rows of a transaction above the bound and reports the tables instead', () => {
    const ins = (id: string) => new W().ch('I').i32(16384).ch('N').i16(3).text(id).text('1').ch('n').done();
    const [tx] = run([begin(1), relation, ins('a'), ins('b'), ins('c'), commit(0x2000n)], {
      maxChanges: 2,
      maxBytes: 1 << 20,
    });
    expect(tx?.changes).toEqual([]);
    expect(tx?.oversizedTables).toEqual(['public.item']);
  });

  it('reports TRUNCATE and a changed relation shape', () => {
    const wider = new W()
      .ch('R')
      .i32(16384)
      .str('public')
      .str('item')
      .ch('f')
      .i16(1)
      .u8(1)
      .str('id')
      .i32(25)
      .i32(-1)
      .done();
    const [tx] = run([relation, begin(2), wider, new W().ch('T').i32(1).u8(0).i32(16384).done(), commit(0x3000n)]);
    expect(tx?.truncated).toEqual(['public.item']);
    expect(tx?.schemaChanged).toEqual(['public.item']);
  });
});

describe('lsn', () => {
  it('round-trips text form', () => {
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    expect(() => parseLsn('1/2/3')).toThrow();
  });
});
