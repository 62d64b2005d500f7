import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';

/** How a service reaches PostgreSQL: one server database, one schema per service. */
export interface PostgresOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** The service's schema: its tables, its outbox and its migration history live there. */
  schema: string;
  /** Connections in this process's pool. */
  poolSize: number;
}

/** Unquoted in search_path, so the name must be a plain lowercase identifier. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * int8 (bigint, bigserial, count(*)) arrives from pg as a string so that no precision
 * is lost. Every int8 here is an amount in minor units, a quantity, a row id or a
 * count, far below 2^53, so it is parsed to a number once, here, and the services'
 * queries read the same types on both dialects. A value beyond 2^53 fails loudly
 * instead of being rounded. Set per pool, not on pg's global type registry, so
 * nothing else in the process is affected.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`int8 value ${text} does not fit a JavaScript number`);
  return value;
}

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** Statements worth preparing: one data statement (Kysely's queries), never DDL or a script. */
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b[^;]*$/i;
/** Distinct statement texts prepared; beyond this (unexpected) the rest run unnamed. */
const MAX_PREPARED = 500;
const statementNames = new Map<string, string>();

/**
 * A client that runs each data statement as a named prepared statement, so PostgreSQL
 * parses and plans it once per connection instead of on every execution (a service runs
 * a few dozen query shapes over and over). Kysely sends every query as (text, values).
 * Behind PgBouncer in transaction mode this needs PgBouncer 1.21+ (max_prepared_statements).
 */
class PreparingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has many overloads; only (text, values) is changed
  override query(...args: any[]): any {
    const [text, values] = args;
    if (args.length === 2 && typeof text === 'string' && Array.isArray(values) && PREPARABLE.test(text)) {
      let name = statementNames.get(text);
      if (name === undefined && statementNames.size < MAX_PREPARED) statementNames.set(text, (name = `orderflow_${statementNames.size + 1}`));
      if (name !== undefined) return super.query({ name, text, values });
    }
    // biome-ignore lint/suspicious/noExplicitAny: see above
    return (super.query as any)(...args);
  }
}

/**
 * A Kysely instance whose every connection works in the service's schema: the pool
 * sets `search_path` at connect, so the services' unqualified queries and migrations
 * land in that schema. The schema is created here when missing.
 */
export async function openPostgres<DB>(options: PostgresOptions): Promise<Kysely<DB>> {
  if (!SCHEMA_NAME.test(options.schema)) throw new Error(`schema name ${JSON.stringify(options.schema)} is not a plain lowercase identifier`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    // A server that does not answer fails readiness and start-up instead of hanging them.
    connectionTimeoutMillis: 5_000,
    options: `-c search_path=${options.schema}`,
    types,
    Client: PreparingClient,
  });
  // An idle client's error (server restart) would otherwise crash the process; the
  // next query gets a fresh connection or fails where it can be handled.
  pool.on('error', () => undefined);
  // The same for a client in use between two statements (a handler's transaction): the
  // pool only listens to idle ones. Its next statement fails instead, the transaction
  // rolls back, and the pool drops the broken client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  try {
    await createSchema(db, options.schema);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

async function createSchema<DB>(db: Kysely<DB>, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // Two replicas starting together can both pass "if not exists" and one then hits
    // the catalog's unique index (23505): the schema exists, which is all we wanted.
    if (!(error instanceof Error && 'code' in error && error.code === '23505')) throw error;
  }
}

/**
 * Creates the database a URL names when the server does not have it yet (the cluster's
 * first start). The server's `postgres` database is used to create it; a concurrent
 * creation by someone else counts as success.
 */
export async function ensurePostgresDatabase(url: string): Promise<void> {
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await probe.connect();
    return;
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === '3D000')) throw error; // invalid_catalog_name
  } finally {
    await probe.end().catch(() => undefined);
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  target.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: target.toString(), connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    await admin.query(`create database ${pg.escapeIdentifier(name)}`);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === '42P04')) throw error; // duplicate_database
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** Socket errors, SQLSTATE class 08 (connection exception) and 57P01-57P03 (server shutting down or starting). */
const UNAVAILABLE_CODES = /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|08...|57P0[123])$/;
const UNAVAILABLE_MESSAGES = /connection terminated|connection error|timeout exceeded when trying to connect|not queryable|the database system is/i;

/**
 * True when an error says the database could not be reached, rather than that the
 * statement was wrong: worth waiting out, never a reason to dead-letter a record.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ('code' in e && typeof e.code === 'string' && UNAVAILABLE_CODES.test(e.code)) return true;
    if (UNAVAILABLE_MESSAGES.test(e.message)) return true;
    if (e instanceof AggregateError && e.errors.some(isDatabaseUnavailable)) return true;
  }
  return false;
}
