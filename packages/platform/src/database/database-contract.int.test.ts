import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { databaseContract } from './database-contract.ts';
import { openDatabase } from './database.ts';
import type { PlatformTables } from './platform-tables.ts';
import { createTestDatabase, findTestPostgres } from './test-databases.ts';

databaseContract(
  'SQLite',
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orderflow-contract-'));
    return {
      options: (service) => ({ service, dataDir }),
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  },
  { replicas: false },
);

// PostgreSQL at DATABASE_URL (default: the local server); skipped with one line when it
// cannot be reached, unless REQUIRE_SERVICES=1.
const postgres = await findTestPostgres();
const serverUrl = postgres.url;
if (serverUrl) {
  databaseContract(
    'PostgreSQL',
    async () => {
      const database = await createTestDatabase(serverUrl);
      return { options: (service) => ({ service, dataDir: ':memory:', url: database.url, poolSize: 4 }), drop: database.drop };
    },
    { replicas: true },
  );
}

if (serverUrl) {
  describe('PostgreSQL statements', () => {
    it('are prepared once per connection and reused with new values', async () => {
      const server = await createTestDatabase(serverUrl);
      const database = await openDatabase<PlatformTables>({ service: 'prepared', dataDir: ':memory:', url: server.url, poolSize: 1 }, {});
      try {
        const { db } = database;
        for (const id of ['a', 'b', 'c']) {
          await db.insertInto('inbox').values({ consumer_group: 'g', message_id: id, processed_at: '2026-01-01T00:00:00.000Z' }).execute();
        }
        // One pooled connection: this query runs where the inserts ran.
        const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements where statement like ${'insert into "inbox"%'}`.execute(db);
        expect(rows).toHaveLength(1);
        expect(await db.selectFrom('inbox').select('message_id').orderBy('message_id').execute()).toEqual([{ message_id: 'a' }, { message_id: 'b' }, { message_id: 'c' }]);
      } finally {
        await database.close();
        await server.drop();
      }
    });
  });
}
