/**
 * Appends one transaction to the shared log and trims the log to its bounds,
 * by count and by bytes, in one Redis script (atomic: no reader sees the log
 * over its bound, and the byte total cannot drift from the entries kept).
 *
 *   XADD <log> <commit LSN>-0 t tx d <json> n <bytes>   (refused when the id is not newer)
 *   INCRBY <bytes key> n
 *   while over maxEntries or maxBytes, and more than one entry left: XDEL the oldest, subtract its n
 *
 * The newest entry is always kept, even when it alone is over the byte bound.
 * Readers find the log's floor from its first entry, so trimming by either
 * bound moves the floor the same way.
 */
import type { Redis } from 'ioredis';

const SCRIPT = `
local size = string.len(ARGV[2])
redis.call('XADD', KEYS[1], ARGV[1], 't', 'tx', 'd', ARGV[2], 'n', size)
local bytes = redis.call('INCRBY', KEYS[2], size)
local len = redis.call('XLEN', KEYS[1])
local maxEntries = tonumber(ARGV[3])
local maxBytes = tonumber(ARGV[4])
local trimmed = 0
while (len > maxEntries or bytes > maxBytes) and len > 1 do
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  local n = 0
  local fields = first[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'n' then n = tonumber(fields[i + 1]) end
  end
  redis.call('XDEL', KEYS[1], first[1])
  bytes = redis.call('DECRBY', KEYS[2], n)
  len = len - 1
  trimmed = trimmed + 1
end
return trimmed
`;

interface WithAppend {
  synclineAppend(
    log: string,
    bytesKey: string,
    id: string,
    data: string,
    maxEntries: number,
    maxBytes: number,
  ): Promise<number>;
}

/** Registers the script on a connection (once) and returns the append function. */
export function boundedAppend(
  redis: Redis,
  keys: { log: string; bytes: string },
  bounds: { maxEntries: number; maxBytes: number },
): (id: string, data: string) => Promise<number> {
  redis.defineCommand('synclineAppend', { numberOfKeys: 2, lua: SCRIPT });
  const r = redis as unknown as WithAppend;
  return (id, data) => r.synclineAppend(keys.log, keys.bytes, id, data, bounds.maxEntries, bounds.maxBytes);
}
