import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { redactUrl } from '../config.ts';
import { type ServiceDatabase, type ServiceMigration, openDatabase } from './database.ts';

/** Where tests find PostgreSQL unless DATABASE_URL says otherwise (trust auth on this machine). */
export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestPostgres {
  /** The server's URL (an administrative database on it), or undefined when it cannot be reached. */
  url: string | undefined;
  /** Why it is not used, when it is not. */
  reason: string | undefined;
}

/**
 * Finds PostgreSQL for a test file. Unreachable: the caller skips, with ONE visible
 * line saying why, unless REQUIRE_SERVICES=1, where a missing server fails the run.
 */
export async function findTestPostgres(env: Record<string, string | undefined> = process.env): Promise<TestPostgres> {
  const url = env.DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return { url, reason: undefined };
  } catch (error) {
    const reason = `PostgreSQL at ${redactUrl(url)} is unreachable (${error instanceof Error ? error.message : String(error)})`;
    if (env.REQUIRE_SERVICES === '1') throw new Error(`${reason}; REQUIRE_SERVICES=1 requires it`);
    console.warn(`skipping PostgreSQL tests: ${reason}; set DATABASE_URL or start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`);
    return { url: undefined, reason };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface TestDatabase {
  /** URL of a new, empty database of its own. */
  url: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

/** Creates `<prefix>_<random>` (default `orderflow_test_<random>`) on the server of serverUrl. */
export async function createTestDatabase(serverUrl: string, prefix = 'orderflow_test'): Promise<TestDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`database prefix ${JSON.stringify(prefix)} is not a plain lowercase identifier`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(serverUrl, `drop database if exists ${name} with (force)`),
  };
}

/**
 * A service's database, migrated, in a new database of its own on the server of serverUrl:
 * for tests of races that only PostgreSQL has. close() closes it and drops the database.
 */
export async function openTestServiceDatabase<Schema>(
  serverUrl: string,
  options: { service: string; poolSize: number },
  migrations: Record<string, ServiceMigration>,
): Promise<ServiceDatabase<Schema>> {
  const server = await createTestDatabase(serverUrl);
  try {
    const database = await openDatabase<Schema>({ ...options, dataDir: ':memory:', url: server.url }, migrations);
    return {
      ...database,
      close: async () => {
        await database.close();
        await server.drop();
      },
    };
  } catch (error) {
    await server.drop();
    throw error;
  }
}

/** Where a database-backed test runs: a name, and a fresh database there (a SQLite directory, or a PostgreSQL database). */
export type TestDatabaseTarget = [name: string, make: () => Promise<{ url?: string; dataDir: string; drop(): Promise<void> }>];

/** SQLite always, and PostgreSQL when the server of findTestPostgres is reachable: for describe.each. */
export async function testDatabaseTargets(tmpPrefix: string): Promise<TestDatabaseTarget[]> {
  const targets: TestDatabaseTarget[] = [
    [
      'SQLite',
      async () => {
        const dataDir = mkdtempSync(join(tmpdir(), tmpPrefix));
        return { dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
      },
    ],
  ];
  const postgres = await findTestPostgres();
  if (postgres.url) {
    const serverUrl = postgres.url;
    targets.push(['PostgreSQL', async () => ({ ...(await createTestDatabase(serverUrl)), dataDir: ':memory:' })]);
  }
  return targets;
}

async function admin(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}


