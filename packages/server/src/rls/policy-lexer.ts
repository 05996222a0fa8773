/**
 * Tokens of a policy expression as `pg_get_expr` prints it (and of a one-line
 * SQL function body such as `SELECT current_setting('request.jwt.claims', true)::json ->> 'sub'`).
 * Anything outside the small subset Syncline compiles is reported, never guessed.
 */
export type Token =
  | { t: 'ident'; v: string; quoted: boolean }
  | { t: 'string'; v: string }
  | { t: 'number'; v: string }
  | { t: 'op'; v: string }
  | { t: 'punct'; v: '(' | ')' | ',' | '[' | ']' | '.' | '::' | ';' };

export class PolicyUnsupported extends Error {
  override readonly name = 'PolicyUnsupported';
}

const OPS = ['->>', '->', '<>', '!=', '<=', '>=', '=', '<', '>'];

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const [v, next] = quoted(text, i, c);
      out.push(c === "'" ? { t: 'string', v } : { t: 'ident', v, quoted: true });
      i = next;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i)) as RegExpExecArray;
      out.push({ t: 'number', v: m[0] });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i)) as RegExpExecArray;
      // E'…' strings (escapes) and other prefixed literals are outside the subset.
      if (text[i + m[0].length] === "'") throw new PolicyUnsupported(`prefixed literal ${m[0]}'…'`);
      out.push({ t: 'ident', v: m[0].toLowerCase(), quoted: false });
      i += m[0].length;
      continue;
    }
    if (text.startsWith('::', i)) {
      out.push({ t: 'punct', v: '::' });
      i += 2;
      continue;
    }
    if ('(),[].;'.includes(c)) {
      out.push({ t: 'punct', v: c as '(' | ')' | ',' | '[' | ']' | '.' | ';' });
      i++;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op) {
      out.push({ t: 'op', v: op === '!=' ? '<>' : op });
      i += op.length;
      continue;
    }
    throw new PolicyUnsupported(`unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

/** A '…' literal or "…" identifier from `start`, with doubled quotes inside; returns it and where it ends. */
function quoted(text: string, start: number, quote: string): [string, number] {
  let v = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length)
      throw new PolicyUnsupported(quote === "'" ? 'unterminated string' : 'unterminated identifier');
    if (text[i] === quote) {
      if (text[i + 1] !== quote) return [v, i + 1];
      v += quote;
      i += 2;
      continue;
    }
    v += text[i++];
  }
}
