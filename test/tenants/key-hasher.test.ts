import { afterAll, describe, expect, it } from 'vitest';
import { keyHash } from '../../src/tenants/hashes.js';
import { startKeyHasher } from '../../src/tenants/sources/key-hasher.js';
import { openOpenWebUiSqlite } from '../../src/tenants/sources/openwebui-sqlite.js';
import { WebUiDb } from './support/webui-fixture.js';

/** Keys hashed on a second thread must be exactly the keys the engine hashes on its own (composite keys too). */

const f = WebUiDb.create({ wal: true, seed: 90 });
f.seedBasic(6);
afterAll(() => f.close(true));

describe('background key hasher', () => {
  it('gives the same count, sums and hashes as the engine thread, and lists keys by hash', async () => {
    const hasher = startKeyHasher(f.file);
    expect(hasher).not.toBeNull();
    const source = openOpenWebUiSqlite(f.file);
    try {
      const tables = await source.listTables();
      for (const name of ['chat', 'tag', 'folder']) {
        const table = tables.find((t) => t.name === name)!;
        const background = await hasher!.keyHashes(table.name, table.key, true);
        const here = await source.keyHashes!(table, { keepHashes: true });
        expect(background.count).toBe(here.count);
        expect(background.count).toBeGreaterThan(0);
        expect({ low: background.low, high: background.high }).toEqual({ low: here.low, high: here.high });
        expect([...background.hashes!].sort()).toEqual([...here.hashes!].sort());
        // Every hash is the engine's hash of the key as the rows carry it.
        const keys = await source.readKeys(table, { afterKey: null, limit: 1000 });
        expect([...here.hashes!].sort()).toEqual(keys.map((key) => keyHash(key)).sort());

        const wanted = keys.slice(0, 2);
        const listed = await hasher!.keysWithHashes(table.name, table.key, wanted.map((key) => keyHash(key)));
        expect(listed.map((k) => k.key).sort()).toEqual(wanted.sort());
        expect(await source.existingKeys!(table, [...wanted, table.key.map(() => 'no-such-key')])).toEqual(new Set(wanted.map((key) => JSON.stringify(key))));
      }
    } finally {
      await source.close();
      await hasher!.close();
    }
  });
});
