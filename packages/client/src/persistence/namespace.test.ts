import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { databaseName, namespaceFor } from './namespace.ts';

describe('namespaceFor', () => {
  it('is the first 16 hex chars of SHA-256(userId)', async () => {
    const expected = createHash('sha256').update('alice@example.com').digest('hex').slice(0, 16);
    expect(await namespaceFor('alice@example.com')).toBe(expected);
  });

  it('differs per user and is a valid database name suffix', async () => {
    const [a, b] = await Promise.all([namespaceFor('alice'), namespaceFor('bob')]);
    expect(a).not.toBe(b);
    expect(databaseName(a)).toBe(`syncline:${a}`);
  });
});
