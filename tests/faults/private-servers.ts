import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../apps/orderflow/src/cluster.ts';
import { type KafkaBroker, startKafkaBroker } from '../../apps/orderflow/src/kafka.ts';
import { NATS_SERVER_BIN, postgresBinDir, unreachable } from '../support/required-services.ts';

/**
 * A NATS server and a PostgreSQL server of the test's own, on free ports and in
 * temporary folders, so that stopping and restarting them never disturbs the shared
 * services the other suites use.
 */

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** First start on a port picked a moment ago: if it was taken meanwhile, pick another and try again. */
async function retryOnce(start: () => Promise<void>, newPort: () => Promise<void>) {
  try {
    await start();
  } catch {
    await newPort();
    await start();
  }
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}

export interface PrivateServer {
  url: string;
  /** Stops the server (gracefully); its data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  remove(): Promise<void>;
}

/** nats-server with JetStream, its store in a temporary folder. */
export async function startPrivateNats(): Promise<PrivateServer> {
  let port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-faults-nats-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    const server = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    child = server;
    await waitFor(`nats-server on ${port}`, async () => {
      if (server.exitCode !== null) throw new Error(`nats-server exited with code ${server.exitCode} (port ${port} taken?)`);
      return (await unreachable(`nats://127.0.0.1:${port}`, port)) === undefined;
    });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  // The port was free a moment ago; someone may have taken it since: try another.
  await retryOnce(start, async () => {
    port = await freePort();
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    start,
    stop,
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A PostgreSQL cluster made with initdb in a temporary folder: trust authentication,
 * user postgres, listening on 127.0.0.1 and a socket in the folder. PostgreSQL refuses
 * to run as root, so as root it runs as the postgres user, which then owns the folder.
 */
export async function startPrivatePostgres(): Promise<PrivateServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL binaries found (set PG_BIN_DIR)');
  let port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-faults-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).trim());
    chownSync(dir, uid, gid);
  }
  const pg = (tool: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', `${bin}/${tool}`, ...args]) : run(`${bin}/${tool}`, args));

  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const start = async () => {
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    await pg('pg_ctl', ['-D', data, '-l', join(dir, 'postgres.log'), '-o', options, '-w', '-t', '60', 'start']);
  };
  const stop = async () => {
    // fast: open connections are ended (what clients see when a server restarts), data is kept.
    await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => undefined);
  };
  await retryOnce(start, async () => {
    port = await freePort();
  });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/orderflow`,
    start,
    stop,
    async remove() {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An Apache Kafka broker (npm run kafka's launcher: one KRaft node on loopback), its
 * storage in a temporary folder: stop() shuts it down cleanly, start() brings it back on
 * the same ports and data, as a restarted broker would be. The first start takes 5-15 s.
 */
export async function startPrivateKafka(): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-faults-kafka-'));
  let port = await freePort();
  let controllerPort = await freePort();
  let broker: KafkaBroker | undefined;
  const start = async () => {
    // Quiet: a start that fails reports the broker's last lines in its error.
    broker = await startKafkaBroker({ port, controllerPort, dataDir: dir, heap: '512m', output: () => undefined });
  };
  await retryOnce(start, async () => {
    port = await freePort();
    controllerPort = await freePort();
  });
  const stop = async () => {
    const running = broker;
    broker = undefined;
    await running?.stop();
  };
  return {
    url: `127.0.0.1:${port}`,
    start,
    stop,
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
