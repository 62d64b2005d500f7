import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseContract } from './database-contract.ts';
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
