import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type Migration, Migrator, SqliteDialect, type SqliteDatabase, sql } from 'kysely';
import { type PlatformTables, platformMigrations } from './platform-tables.ts';
import { openPostgres } from './postgres.ts';
import type { Dialect, ServiceMigration } from './schema-builders.ts';

export type { Dialect, ServiceMigration } from './schema-builders.ts';
export { withIdColumn } from './schema-builders.ts';

export interface DatabaseOptions {
  /** Service name: the SQLite file is `<dataDir>/<service>.db`, the PostgreSQL schema is `<service>`. */
  service: string;
  /** Folder of the embedded databases, or ':memory:' for a database that keeps nothing. */
  dataDir: string;
  /** PostgreSQL (postgres://...) instead of the embedded SQLite database when set (DATABASE_URL). */
  url?: string | undefined;
  /** PostgreSQL connections per service and process (DATABASE_POOL_SIZE). */
  poolSize?: number | undefined;
}

export interface ServiceDatabase<Schema> {
  db: Kysely<Schema & PlatformTables>;
  dialect: Dialect;
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens the service's database and brings its schema up to date before anything uses it. */
export async function openDatabase<Schema>(
  options: DatabaseOptions,
  migrations: Record<string, ServiceMigration>,
): Promise<ServiceDatabase<Schema>> {
  return options.url ? openPostgresDatabase(options.url, options, migrations) : openSqliteDatabase(options, migrations);
}

async function openPostgresDatabase<Schema>(
  url: string,
  options: DatabaseOptions,
  migrations: Record<string, ServiceMigration>,
): Promise<ServiceDatabase<Schema>> {
  const schema = options.service;
  const db = await openPostgres<Schema & PlatformTables>({ url, schema, poolSize: options.poolSize ?? 10 });
  try {
    // Replicas starting together are safe: Kysely's Migrator takes an advisory lock on
    // PostgreSQL, and each service's migration history lives in its own schema.
    await migrate(db as Kysely<unknown>, 'postgres', migrations, schema);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    db,
    dialect: 'postgres',
    async isReady() {
      return sql`select 1`.execute(db).then(
        () => true,
        () => false,
      );
    },
    async close() {
      await db.destroy();
    },
  };
}

async function openSqliteDatabase<Schema>(
  options: DatabaseOptions,
  migrations: Record<string, ServiceMigration>,
): Promise<ServiceDatabase<Schema>> {
  const file = options.dataDir === ':memory:' ? ':memory:' : join(options.dataDir, `${options.service}.db`);
  if (file !== ':memory:') mkdirSync(options.dataDir, { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL with WAL: a commit survives a process crash; only power loss can drop the
  // last transactions (redelivery from the broker then repeats them, idempotently).
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Schema & PlatformTables>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  await migrate(db as Kysely<unknown>, 'sqlite', migrations);
  return {
    db,
    dialect: 'sqlite',
    async isReady() {
      return sqlite.open;
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Runs the platform's and the service's migrations. On PostgreSQL the history tables
 * must be named with the service's schema: Kysely looks for them in every schema, so
 * it would otherwise take another service's history for this one's.
 */
export async function migrate(db: Kysely<unknown>, dialect: Dialect, migrations: Record<string, ServiceMigration>, schema?: string) {
  const all: Record<string, Migration> = {};
  for (const [name, up] of Object.entries({ ...platformMigrations, ...migrations })) {
    all[name] = { up: (target: Kysely<unknown>) => up(target, dialect) };
  }
  // Two histories share one table: a platform migration added later sorts before service
  // migrations a database has already run, and must still run (they touch different tables).
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => all },
    allowUnorderedMigrations: true,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Kysely prepares every statement it runs; preparing costs more than running the small
 * statements a handler makes. The query shapes are few, so prepared statements are
 * kept by SQL text. Safe because Kysely runs one statement at a time per connection.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        if (cache.size < 1_000) cache.set(sql, statement);
      }
      return statement as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}
