import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';

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

/** The Kafka broker the Kafka suites share (`npm run kafka`); CI starts one. */
export const kafkaBrokers = () => process.env.KAFKA_BROKERS || process.env.KAFKA_BROKER || '127.0.0.1:9092';

/** The shared Kafka and PostgreSQL the Kafka cluster suites use; the reasons they cannot be used. */
export async function sharedKafkaProblems(): Promise<string[]> {
  const kafka = await unreachable(`kafka://${kafkaBrokers()}`, 9092);
  const postgres = await unreachable(process.env.DATABASE_URL || 'postgres://127.0.0.1:5432', 5432);
  return [
    ...(kafka ? [`Kafka unreachable (${kafka}; npm run kafka starts one)`] : []),
    ...(postgres ? [`PostgreSQL unreachable (${postgres})`] : []),
  ];
}

/** An executable of that name on PATH (not run: vitest checks this at every start). */
const onPath = (command: string) => (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));

/** The Kafka fault tests start private brokers: npm run kafka's Java and Maven, and PostgreSQL's binaries. */
export function kafkaFaultProblems(): string[] {
  const problems: string[] = [];
  if (!onPath('java')) problems.push('no java on PATH (Java 17+ runs the Kafka broker)');
  if (!onPath('mvn')) problems.push('no mvn on PATH (Maven resolves the Kafka broker)');
  const bin = postgresBinDir();
  if (!bin || !existsSync(`${bin}/initdb`)) problems.push('no PostgreSQL initdb under /usr/lib/postgresql/*/bin (set PG_BIN_DIR)');
  return problems;
}
