import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * What the suites beyond the embedded ones need, checked once when vitest loads its
 * configuration: a missing service leaves those projects out with one line saying why,
 * unless REQUIRE_SERVICES=1 (CI), where they run and fail.
 */
export const requireServices = process.env.REQUIRE_SERVICES === '1';

/** Why nothing listens at the URL's host and port, or undefined when something does. */
export function unreachable(url: string, defaultPort: number): Promise<string | undefined> {
  const parsed = new URL(url.split(',')[0]!.trim().replace(/^[a-z]+:/, 'http:'));
  const host = parsed.hostname || '127.0.0.1';
  const port = Number(parsed.port || defaultPort);
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(`${host}:${port}: connect timeout`);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(`${host}:${port}: ${error.code ?? error.message}`));
  });
}

/** The shared NATS and PostgreSQL the cluster suites use; the reasons they cannot be used. */
export async function sharedServicesProblems(): Promise<string[]> {
  const nats = await unreachable(process.env.NATS_URL || 'nats://127.0.0.1:4222', 4222);
  const postgres = await unreachable(process.env.DATABASE_URL || 'postgres://127.0.0.1:5432', 5432);
  return [...(nats ? [`NATS unreachable (${nats})`] : []), ...(postgres ? [`PostgreSQL unreachable (${postgres})`] : [])];
}

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** The newest installed PostgreSQL's bin folder (Debian layout), or PG_BIN_DIR. */
export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(`${root}/${v}/bin/initdb`));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? `${root}/${versions[0]}/bin` : undefined;
}

/** The fault tests start private servers: they need the binaries, not running services. */
export function faultBinariesProblems(): string[] {
  const problems: string[] = [];
  if (!existsSync(NATS_SERVER_BIN)) problems.push(`no nats-server at ${NATS_SERVER_BIN} (set NATS_SERVER_BIN)`);
  const bin = postgresBinDir();
  if (!bin || !existsSync(`${bin}/initdb`)) problems.push('no PostgreSQL initdb under /usr/lib/postgresql/*/bin (set PG_BIN_DIR)');
  return problems;
}
