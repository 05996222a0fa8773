/**
 * Parses a policy's `USING` expression (as `pg_get_expr` prints it) into a
 * PExpr, or throws PolicyUnsupported naming what is outside the subset:
 *
 *   columns and constants compared (= <> < <= > >=; text only = and <>), AND/OR/NOT,
 *   x = ANY (ARRAY[…]), IN (…), IS [NOT] NULL, true/false, casts among text, uuid,
 *   integers and boolean, claims as current_setting('request.jwt.claims', true)::json ->> 'k'
 *   — directly or through a zero-argument SQL function whose whole body is that.
 */
import { PolicyUnsupported, tokenize, type Token } from './policy-lexer.ts';
import { cast, typeOf, type CmpOp, type PExpr, type VType } from './policy-expr.ts';

export interface ParseContext {
  /** The policy's table (unqualified name), for `table.column` references. */
  table: string;
  columns: ReadonlyMap<string, number>;
  /** Zero-argument functions the expression calls, already parsed (a claim expression) or refused. */
  functions: ReadonlyMap<string, PExpr | string>;
}

/** Parse-time only: the settings and JSON values that lead to a claim. */
type Pre =
  PExpr | { k: 'setting'; name: string } | { k: 'json'; path: string[]; jsonb: boolean } | { k: 'text'; v: string };

const TYPE_NAMES: Record<string, { type: VType; bits: number }> = {
  text: { type: 'text', bits: 0 },
  varchar: { type: 'text', bits: 0 },
  'character varying': { type: 'text', bits: 0 },
  uuid: { type: 'uuid', bits: 0 },
  smallint: { type: 'int', bits: 16 },
  int2: { type: 'int', bits: 16 },
  integer: { type: 'int', bits: 32 },
  int: { type: 'int', bits: 32 },
  int4: { type: 'int', bits: 32 },
  bigint: { type: 'int', bits: 64 },
  int8: { type: 'int', bits: 64 },
  boolean: { type: 'bool', bits: 0 },
  bool: { type: 'bool', bits: 0 },
};

const KEYWORDS = new Set(
  [
    'select exists case array coalesce nullif greatest least user current_user session_user current_role',
    'system_user current_schema current_catalog current_date current_time current_timestamp localtime localtimestamp',
  ]
    .join(' ')
    .split(' '),
);

/** Column types whose values the evaluator mirrors exactly. */
export const COLUMN_TYPES: ReadonlyMap<number, VType> = new Map([
  [25, 'text'],
  [1043, 'text'],
  [2950, 'uuid'],
  [20, 'int'],
  [21, 'int'],
  [23, 'int'],
  [16, 'bool'],
]);

export function parsePolicy(text: string, ctx: ParseContext): PExpr {
  const p = new Parser(tokenize(text), ctx);
  const e = p.finish(p.expr());
  if (typeOf(e) !== 'bool') throw new PolicyUnsupported('the expression is not a condition');
  return e;
}

/**
 * A SQL function body (`SELECT <claim expression>`) as a PExpr; it may not read
 * columns. Returns the reason when it is outside the subset.
 */
export function parseFunctionBody(body: string): PExpr | string {
  try {
    const tokens = tokenize(body);
    if (tokens[0]?.t === 'ident' && tokens[0].v === 'select') tokens.shift();
    while (tokens.at(-1)?.t === 'punct' && tokens.at(-1)?.v === ';') tokens.pop();
    const p = new Parser(tokens, { table: '', columns: new Map(), functions: new Map() });
    return p.finish(p.expr());
  } catch (e) {
    if (e instanceof PolicyUnsupported) return e.message;
    throw e;
  }
}

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly ctx: ParseContext,
  ) {}

  finish(e: Pre): PExpr {
    if (this.i < this.tokens.length) throw new PolicyUnsupported(`unexpected ${show(this.tokens[this.i])}`);
    return this.value(e);
  }

  expr(): Pre {
    return this.or();
  }

  private or(): Pre {
    const xs = [this.and()];
    while (this.keyword('or')) xs.push(this.and());
    return xs.length === 1 ? (xs[0] as Pre) : { k: 'or', xs: xs.map((x) => this.cond(x)) };
  }

  private and(): Pre {
    const xs = [this.not()];
    while (this.keyword('and')) xs.push(this.not());
    return xs.length === 1 ? (xs[0] as Pre) : { k: 'and', xs: xs.map((x) => this.cond(x)) };
  }

  private not(): Pre {
    if (this.keyword('not')) return { k: 'not', x: this.cond(this.not()) };
    return this.predicate();
  }

  private predicate(): Pre {
    const left = this.json();
    const t = this.peek();
    if (t?.t === 'op' && ['=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      this.i++;
      const op = t.v as CmpOp;
      if (this.keyword('any') || this.peekKeyword('all')) {
        const all = this.keyword('all');
        this.expect('(');
        const list = this.arrayList();
        this.expect(')');
        return this.anyNode(op, all, left, list);
      }
      return this.cmpNode(op, left, this.json());
    }
    if (this.keyword('is')) {
      const not = this.keyword('not');
      if (!this.keyword('null')) throw new PolicyUnsupported('IS other than IS [NOT] NULL');
      return { k: 'isnull', x: this.value(left), not };
    }
    const negated = this.peekKeyword('not') && this.peekKeyword('in', 1);
    if (negated) this.i++;
    if (this.keyword('in')) {
      const list = this.list('(', ')');
      return this.anyNode(negated ? '<>' : '=', negated, left, list);
    }
    return left;
  }

  /** `ARRAY[…]`, maybe parenthesised and cast as a whole (`(ARRAY['a'::varchar])::text[]`). */
  private arrayList(): Pre[] {
    let items: Pre[];
    if (this.punct('(')) {
      items = this.arrayList();
      this.expect(')');
    } else {
      if (!this.keyword('array')) throw new PolicyUnsupported('ANY/ALL over something other than ARRAY[…]');
      items = this.list('[', ']');
    }
    while (this.punct('::')) {
      const name = this.typeName();
      this.expect('[');
      this.expect(']');
      items = items.map((x) => this.castTo(x, name));
    }
    return items;
  }

  private list(open: '(' | '[', close: ')' | ']'): Pre[] {
    this.expect(open);
    const out: Pre[] = [];
    if (!this.punct(close)) {
      do out.push(this.json());
      while (this.punct(','));
      this.expect(close);
    }
    return out;
  }

  /** `a -> 'k' ->> 'k2'` over the claims JSON. */
  private json(): Pre {
    let e = this.cast();
    for (;;) {
      const t = this.peek();
      if (t?.t !== 'op' || (t.v !== '->' && t.v !== '->>')) return e;
      this.i++;
      const key = this.cast();
      const name = key.k === 'text' ? key.v : key.k === 'const' && key.type === 'text' ? key.v : null;
      if (e.k !== 'json' || typeof name !== 'string')
        throw new PolicyUnsupported('JSON operators other than on the claims');
      e = t.v === '->' ? { ...e, path: [...e.path, name] } : { k: 'claim', path: [...e.path, name], jsonb: e.jsonb };
    }
  }

  private cast(): Pre {
    let e = this.primary();
    while (this.punct('::')) e = this.castTo(e, this.typeName());
    return e;
  }

  private castTo(e: Pre, name: string): Pre {
    if (name === 'json' || name === 'jsonb') {
      if (e.k === 'setting' && e.name === 'request.jwt.claims') return { k: 'json', path: [], jsonb: name === 'jsonb' };
      throw new PolicyUnsupported(`cast to ${name} of something other than the claims setting`);
    }
    const target = TYPE_NAMES[name];
    if (!target) throw new PolicyUnsupported(`cast to ${name}`);
    if (e.k === 'text') {
      // A typed literal: Postgres checked it when the policy was created.
      try {
        return { k: 'const', type: target.type, v: cast(e.v, 'text', target.type, target.bits) };
      } catch {
        throw new PolicyUnsupported(`literal ${JSON.stringify(e.v)}::${name}`);
      }
    }
    const v = this.value(e);
    const from = typeOf(v);
    if (from !== 'text' && target.type !== 'text' && from !== target.type)
      throw new PolicyUnsupported(`cast from ${from} to ${name}`);
    return { k: 'cast', to: target.type, bits: target.bits, e: v };
  }

  private typeName(): string {
    const words: string[] = [];
    for (;;) {
      const t = this.peek();
      if (t?.t !== 'ident') break;
      if (words.length > 0 && !['varying', 'precision', 'with', 'without', 'time', 'zone'].includes(t.v)) break;
      words.push(t.v);
      this.i++;
    }
    if (words.length === 0) throw new PolicyUnsupported('a cast without a type name');
    // Types may be printed schema-qualified (pg_catalog.text).
    const name = words.join(' ');
    return name.startsWith('pg_catalog.') ? name.slice(11) : name;
  }

  private primary(): Pre {
    const t = this.next();
    if (t.t === 'punct' && t.v === '(') {
      const e = this.expr();
      this.expect(')');
      return e;
    }
    if (t.t === 'string') return { k: 'text', v: t.v };
    if (t.t === 'number') {
      if (!/^[0-9]+$/.test(t.v)) throw new PolicyUnsupported(`non-integer number ${t.v}`);
      return { k: 'const', type: 'int', v: BigInt(t.v) };
    }
    if (t.t !== 'ident') throw new PolicyUnsupported(`unexpected ${show(t)}`);
    if (!t.quoted) {
      if (t.v === 'true' || t.v === 'false') return { k: 'const', type: 'bool', v: t.v === 'true' };
      if (t.v === 'null') return { k: 'const', type: 'text', v: null };
      // SQL keywords pg_get_expr prints unquoted (a column with such a name is printed quoted).
      if (KEYWORDS.has(t.v)) throw new PolicyUnsupported(t.v.toUpperCase());
    }
    let name = t.v;
    let qualifier: string | null = null;
    if (this.punct('.')) {
      const n = this.next();
      if (n.t !== 'ident') throw new PolicyUnsupported('a qualified name');
      qualifier = name;
      name = n.v;
    }
    if (this.punct('(')) return this.call(qualifier, name);
    if (qualifier !== null && qualifier !== this.ctx.table) throw new PolicyUnsupported(`column of ${qualifier}`);
    const typeOid = this.ctx.columns.get(name);
    if (typeOid === undefined) throw new PolicyUnsupported(`unknown column or keyword ${name}`);
    const type = COLUMN_TYPES.get(typeOid);
    if (!type) throw new PolicyUnsupported(`column ${name} has a type compared only by the database`);
    return { k: 'col', name, type, typeOid };
  }

  private call(schema: string | null, name: string): Pre {
    const args: Pre[] = [];
    if (!this.punct(')')) {
      do args.push(this.expr());
      while (this.punct(','));
      this.expect(')');
    }
    if ((schema === null || schema === 'pg_catalog') && name === 'current_setting') {
      const setting = args[0];
      const missingOk = args[1];
      if (setting?.k !== 'text' && !(setting?.k === 'const' && setting.type === 'text'))
        throw new PolicyUnsupported('current_setting of a computed name');
      const s = setting.k === 'text' ? setting.v : String(setting.v);
      if (missingOk && !(missingOk.k === 'const' && missingOk.v === true))
        throw new PolicyUnsupported('current_setting with missing_ok other than true');
      // Syncline sets exactly these two in every user transaction (see auth/user-transaction.ts).
      if (s === 'request.jwt.claims') return { k: 'setting', name: s };
      if (s === 'request.jwt.claim.sub') return { k: 'claim', path: ['sub'], jsonb: false };
      throw new PolicyUnsupported(
        `current_setting('${s}') (Syncline sets request.jwt.claims and request.jwt.claim.sub)`,
      );
    }
    if (args.length > 0) throw new PolicyUnsupported(`function ${name}(…)`);
    const body = this.ctx.functions.get(schema ? `${schema}.${name}` : name);
    if (body === undefined) throw new PolicyUnsupported(`function ${name}()`);
    if (typeof body === 'string') throw new PolicyUnsupported(`function ${name}(): ${body}`);
    return body;
  }

  // ── typing ─────────────────────────────────────────────────────────────

  /** A finished value: literals typed as text, claims JSON refused as a value. */
  private value(e: Pre): PExpr {
    if (e.k === 'text') return { k: 'const', type: 'text', v: e.v };
    if (e.k === 'setting' || e.k === 'json') throw new PolicyUnsupported('the claims JSON used as a value');
    return e;
  }

  private cond(e: Pre): PExpr {
    const v = this.value(e);
    if (typeOf(v) !== 'bool') throw new PolicyUnsupported('a non-boolean operand of AND/OR/NOT');
    return v;
  }

  /** Both sides of a comparison in one type; an untyped literal takes the other side's type. */
  private unify(a: Pre, b: Pre): [PExpr, PExpr] {
    if (a.k === 'text' && b.k !== 'text') {
      const r = this.value(b);
      return [literalAs(a.v, typeOf(r)), r];
    }
    if (b.k === 'text' && a.k !== 'text') {
      const l = this.value(a);
      return [l, literalAs(b.v, typeOf(l))];
    }
    const l = this.value(a);
    const r = this.value(b);
    if (typeOf(l) !== typeOf(r)) throw new PolicyUnsupported(`comparison of ${typeOf(l)} with ${typeOf(r)}`);
    return [l, r];
  }

  private cmpNode(op: CmpOp, a: Pre, b: Pre): PExpr {
    const [l, r] = this.unify(a, b);
    if (typeOf(l) === 'text' && op !== '=' && op !== '<>')
      throw new PolicyUnsupported('ordering of text (depends on collation)');
    return { k: 'cmp', op, l, r };
  }

  private anyNode(op: CmpOp, all: boolean, left: Pre, list: Pre[]): PExpr {
    const items = list.map((x) => this.cmpNode(op, left, x));
    const l = (items[0]?.k === 'cmp' ? items[0].l : this.value(left)) as PExpr;
    return { k: 'any', op, all, l, list: items.map((x) => (x as Extract<PExpr, { k: 'cmp' }>).r) };
  }

  // ── tokens ─────────────────────────────────────────────────────────────

  private peek(at = 0): Token | undefined {
    return this.tokens[this.i + at];
  }

  private next(): Token {
    const t = this.tokens[this.i++];
    if (!t) throw new PolicyUnsupported('unexpected end');
    return t;
  }

  private peekKeyword(word: string, at = 0): boolean {
    const t = this.peek(at);
    return t?.t === 'ident' && !t.quoted && t.v === word;
  }

  private keyword(word: string): boolean {
    if (!this.peekKeyword(word)) return false;
    this.i++;
    return true;
  }

  private punct(v: string): boolean {
    const t = this.peek();
    if (t?.t !== 'punct' || t.v !== v) return false;
    this.i++;
    return true;
  }

  private expect(v: string): void {
    if (!this.punct(v)) throw new PolicyUnsupported(`expected ${v}, got ${show(this.peek())}`);
  }
}

/** An untyped literal read as `type` (Postgres runs the type's input function: a bad literal fails the policy). */
function literalAs(text: string, type: VType): PExpr {
  if (type === 'text') return { k: 'const', type, v: text };
  return { k: 'cast', to: type, bits: 64, e: { k: 'const', type: 'text', v: text } };
}

function show(t: Token | undefined): string {
  return t ? JSON.stringify(t.v) : 'end';
}
