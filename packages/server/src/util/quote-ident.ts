/**
 * Identifiers (table and column names from the server's own config, never from
 * clients) quoted for SQL text. Values are never quoted this way: they are bound.
 */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** "public.order" → "public"."order"; a bare name means schema public. */
export function splitTable(table: string): { schema: string; name: string; qualified: string } {
  const dot = table.indexOf('.');
  const schema = dot < 0 ? 'public' : table.slice(0, dot);
  const name = dot < 0 ? table : table.slice(dot + 1);
  return { schema, name, qualified: `${schema}.${name}` };
}

export function quoteTable(table: string): string {
  const { schema, name } = splitTable(table);
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}
