/**
 * Rooms are declared like collections: a name pattern with params and an
 * access rule. A client joins a concrete room (`order:42`); the first pattern
 * it matches names the params (`{ orderId: '42' }`), which the access rule
 * sees exactly as a collection's rule sees its params.
 *
 *   { name: 'order:{orderId}', access: { exists: { table: 'order', filter: … { param: 'orderId' } … } } }
 *   { name: 'drivers-online', access: ({ claims }) => claims.role === 'driver' || claims.role === 'dispatcher' }
 */
import type { AccessRule } from '../collections/collection-config.ts';
import { type CompiledAccess, compileAccessRule } from '../collections/collection.ts';
import type pg from 'pg';
import { type TableInfo, loadTableInfo } from '../collections/table-info.ts';
import { SetupError } from '../util/errors.ts';
import { splitTable } from '../util/quote-ident.ts';

export interface RoomDefinition {
  /** Literal text and `{param}` segments; a param matches letters, digits and `_ . @ -` (not `:`). */
  name: string;
  /** Who may join; omitted: any authenticated user. An `exists` rule is watched: losing the row leaves the room at once. */
  access?: AccessRule;
}

export function defineRooms(rooms: RoomDefinition[]): RoomDefinition[] {
  return rooms;
}

const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export class Room {
  readonly params: string[] = [];
  readonly access: CompiledAccess | null;
  private readonly pattern: RegExp;

  constructor(
    readonly def: RoomDefinition,
    tables: ReadonlyMap<string, TableInfo>,
  ) {
    if (!/^[A-Za-z0-9_.:@{}-]+$/.test(def.name) || def.name.length > 128)
      throw new SetupError(`room "${def.name}": names use letters, digits, _ . : @ - and {param}`);
    let source = '';
    let last = 0;
    for (const m of def.name.matchAll(PARAM)) {
      source += escape(def.name.slice(last, m.index));
      source += '([A-Za-z0-9_.@-]{1,64})';
      this.params.push(m[1] as string);
      last = (m.index as number) + m[0].length;
    }
    source += escape(def.name.slice(last));
    if (/[{}]/.test(def.name.replace(PARAM, ''))) throw new SetupError(`room "${def.name}": a { without a param name`);
    if (new Set(this.params).size !== this.params.length) throw new SetupError(`room "${def.name}": a param twice`);
    this.pattern = new RegExp(`^${source}$`);
    this.access = def.access ? compileAccessRule(`room ${def.name}`, def.access, tables, new Set(this.params)) : null;
  }

  /** The params of a concrete room name, or null when it is not this room. */
  match(name: string): Record<string, string> | null {
    const m = this.pattern.exec(name);
    if (!m) return null;
    return Object.fromEntries(this.params.map((p, i) => [p, m[i + 1] as string]));
  }

  /** The table an `exists` rule reads (its changes re-check members), or null. */
  get watchedTable(): string | null {
    return this.access?.kind === 'exists' ? this.access.table.qualified : null;
  }
}

/** Tables rooms' `exists` rules read: captured, so a change to them can revoke members live. */
export function roomTables(defs: RoomDefinition[]): string[] {
  const out = new Set<string>();
  for (const d of defs)
    if (d.access && typeof d.access !== 'function') out.add(splitTable(d.access.exists.table).qualified);
  return [...out];
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

/** The rooms, with the tables their `exists` rules read described from the catalog. */
export async function loadRooms(pool: pg.Pool, defs: RoomDefinition[]): Promise<Room[]> {
  const tables = new Map<string, TableInfo>();
  for (const t of roomTables(defs)) tables.set(t, await loadTableInfo(pool, t));
  const names = new Set<string>();
  return defs.map((d) => {
    if (names.has(d.name)) throw new SetupError(`two rooms are named "${d.name}"`);
    names.add(d.name);
    return new Room(d, tables);
  });
}
