import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { exitOnStopSignals, isEntryPoint } from '@orderflow/platform';

/**
 * A real Apache Kafka broker on this machine without Docker: Maven resolves the broker's
 * jars from Maven Central into ~/.m2 once (the descriptor, apps/orderflow/kafka/pom.xml,
 * pins the version), the machine's Java runs it as one KRaft node (broker and controller
 * in one process), bound to loopback only, with no JMX port. `npm run kafka` runs it in
 * the foreground; tests and CI call startKafkaBroker().
 */

const POM = fileURLToPath(new URL('../kafka/pom.xml', import.meta.url));
/** The version the descriptor pins (its kafka.version property). */
export const DEFAULT_KAFKA_VERSION = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'))?.[1] ?? '4.4.0';
const CACHE_DIR = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'orderflow', 'kafka');
const KEPT_LINES = 60;

export interface ScramListener {
  /** A SASL_PLAINTEXT listener with SCRAM-SHA-512 on this port, beside the plaintext one. */
  port: number;
  username: string;
  /** Stored as SCRAM credentials when the storage is formatted (the first start of a data folder). */
  password: string;
}

export interface KafkaBrokerOptions {
  /** An org.apache.kafka:kafka_2.13 version Maven Central serves: 4.x, or 3.9.x and later 3.x. */
  version?: string;
  port?: number;
  controllerPort?: number;
  /** Where the KRaft storage lives; formatted on first use. Default: ./data/kafka-<version>. */
  dataDir?: string;
  scram?: ScramListener;
  /**
   * Tests only: a plaintext listener on `port` that tells clients to connect to
   * `advertisedPort` instead, where a test's TCP proxy forwards to it (and injects faults).
   */
  proxied?: { port: number; advertisedPort: number };
  /** Maximum Java heap, e.g. 512m. */
  heap?: string;
  /** The broker's console log level (its full log is <dataDir>/server.log). */
  logLevel?: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
  /** Each console line of the broker; default: written to stderr. */
  output?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface KafkaBroker {
  version: string;
  /** host:port for KAFKA_BROKERS. */
  bootstrap: string;
  dataDir: string;
  pid: number | undefined;
  /** Resolves with the exit code once the broker process has ended (for whatever reason). */
  exited: Promise<number | null>;
  /** SIGTERM: the broker shuts down cleanly (SIGKILL after a grace period); resolves once it is gone. */
  stop(): Promise<number | null>;
  lastLines(): string[];
}

const run = promisify(execFile);

/** Resolves (once, then cached) the classpath of the broker at this version; Maven fetches what ~/.m2 lacks. */
export async function kafkaClasspath(version: string): Promise<string> {
  const file = join(CACHE_DIR, `classpath-${version}.txt`);
  if (existsSync(file)) {
    const cached = readFileSync(file, 'utf8').trim();
    if (cached && cached.split(':').every((jar) => existsSync(jar))) return cached;
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  try {
    await run('mvn', ['-B', '-q', '-f', POM, `-Dkafka.version=${version}`, 'dependency:build-classpath', `-Dmdep.outputFile=${file}`], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as { code?: string; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('Maven (mvn) is not installed: the Kafka broker is resolved from Maven Central with it (apt-get install maven)');
    const detail = `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n').filter((l) => l.includes('ERROR')).slice(0, 6).join('\n');
    throw new Error(`Maven could not resolve org.apache.kafka:kafka_2.13:${version} from Maven Central:\n${detail || e.message}`);
  }
  return readFileSync(file, 'utf8').trim();
}

/** Something accepts TCP connections on 127.0.0.1:port. */
export function portAccepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: 1_000 });
    const finish = (open: boolean) => {
      socket.destroy();
      done(open);
    };
    socket.once('connect', () => finish(true));
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
  });
}

function serverProperties(
  o: Required<Pick<KafkaBrokerOptions, 'port' | 'controllerPort'>> & Pick<KafkaBrokerOptions, 'scram' | 'proxied'> & { logDir: string },
): string {
  const listeners = [`PLAINTEXT://127.0.0.1:${o.port}`, `CONTROLLER://127.0.0.1:${o.controllerPort}`];
  const advertised = [`PLAINTEXT://127.0.0.1:${o.port}`];
  if (o.scram) {
    listeners.push(`SASL_PLAINTEXT://127.0.0.1:${o.scram.port}`);
    advertised.push(`SASL_PLAINTEXT://127.0.0.1:${o.scram.port}`);
  }
  if (o.proxied) {
    listeners.push(`PROXIED://127.0.0.1:${o.proxied.port}`);
    advertised.push(`PROXIED://127.0.0.1:${o.proxied.advertisedPort}`);
  }
  return [
    '# Written by apps/orderflow/src/kafka.ts at each start: a single-node KRaft broker on loopback.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${o.controllerPort}`,
    `listeners=${listeners.join(',')}`,
    `advertised.listeners=${advertised.join(',')}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,PROXIED:PLAINTEXT',
    ...(o.scram
      ? [
          'sasl.enabled.mechanisms=SCRAM-SHA-512',
          'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
        ]
      : []),
    `log.dirs=${o.logDir}`,
    'num.partitions=3',
    // One node: every internal topic has one replica.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // As in production (compose.yaml, Strimzi): services create their topics themselves.
    'auto.create.topics.enable=false',
    // A lone developer's group should not wait 3 s for members that will never come.
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

const log4jConfig = (level: string, file: string) =>
  [
    'status = warn',
    // The broker has its own shutdown hook; Log4j's would race it and warn.
    'shutdownHook = disable',
    'appender.console.type = Console',
    'appender.console.name = console',
    'appender.console.target = SYSTEM_ERR',
    'appender.console.layout.type = PatternLayout',
    'appender.console.layout.pattern = [%d] %p %m (%c)%n',
    'appender.console.filter.threshold.type = ThresholdFilter',
    `appender.console.filter.threshold.level = ${level}`,
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${file}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.console.ref = console',
    'rootLogger.appenderRef.file.ref = file',
    '',
  ].join('\n');

/** A KRaft cluster id: 16 random bytes, base64url without padding (Kafka's Uuid form). */
const newClusterId = () => randomBytes(16).toString('base64url');

/**
 * Starts a single-node broker and resolves once it accepts connections. The storage is
 * formatted on the first start of a data folder only, so topics and offsets survive a
 * restart, as a real broker's do.
 */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const version = options.version ?? DEFAULT_KAFKA_VERSION;
  const port = options.port ?? 9092;
  const controllerPort = options.controllerPort ?? 9093;
  const dataDir = resolve(options.dataDir ?? join(process.env.DATA_DIR || './data', `kafka-${version}`));
  const output = options.output ?? ((line: string) => process.stderr.write(`${line}\n`));
  for (const p of [port, controllerPort, ...(options.scram ? [options.scram.port] : []), ...(options.proxied ? [options.proxied.port] : [])]) {
    if (await portAccepts(p)) throw new Error(`127.0.0.1:${p} is already in use (a broker already running? npm run kafka -- --port N picks another)`);
  }

  const classpath = await kafkaClasspath(version);
  mkdirSync(dataDir, { recursive: true });
  const propertiesFile = join(dataDir, 'server.properties');
  const logDir = join(dataDir, 'logs');
  writeFileSync(propertiesFile, serverProperties({ port, controllerPort, logDir, scram: options.scram, proxied: options.proxied }));
  const log4jFile = join(dataDir, 'log4j2.properties');
  writeFileSync(log4jFile, log4jConfig(options.logLevel ?? 'WARN', join(dataDir, 'server.log')));
  const jvm = [
    `-Xmx${options.heap ?? '1g'}`,
    '-Xms256m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    `-Dkafka.logs.dir=${dataDir}`,
    '-cp',
    classpath,
  ];

  if (!existsSync(join(logDir, 'meta.properties'))) {
    const format = ['kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', propertiesFile];
    if (options.scram) format.push('--add-scram', `SCRAM-SHA-512=[name=${options.scram.username},password=${options.scram.password}]`);
    try {
      await run('java', [...jvm, ...format], { maxBuffer: 4 * 1024 * 1024 });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`formatting the KRaft storage in ${logDir} failed:\n${e.stderr || e.stdout || e.message}`);
    }
  }

  const child: ChildProcess = spawn('java', [...jvm, 'kafka.Kafka', propertiesFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (lines.length > KEPT_LINES) lines.shift();
      output(line);
    });
  }
  let ended = false;
  const exited = new Promise<number | null>((done) => {
    child.once('exit', (code, signal) => {
      ended = true;
      done(code ?? (signal ? 128 : null));
    });
    child.once('error', (error) => {
      ended = true;
      lines.push(`could not run java: ${error.message}`);
      done(null);
    });
  });

  const broker: KafkaBroker = {
    version,
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    pid: child.pid,
    exited,
    async stop() {
      if (!ended) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    lastLines: () => [...lines],
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
  while (!(await portAccepts(port))) {
    if (ended) throw new Error(`Kafka ${version} exited before it accepted connections:\n${lines.join('\n')}`);
    if (Date.now() > deadline) {
      await broker.stop();
      throw new Error(`Kafka ${version} did not accept connections on 127.0.0.1:${port} in time:\n${lines.join('\n')}`);
    }
    await sleep(200);
  }
  return broker;
}

const HELP = `npm run kafka -- [options]

Runs Apache Kafka (KRaft, one node) on this machine without Docker: Maven resolves the
broker from Maven Central once (needs Java 17+ and Maven), the storage is formatted
under the data folder once, and the broker listens on loopback only. Ctrl+C stops it.

  --version V        kafka_2.13 version (default ${DEFAULT_KAFKA_VERSION}; 3.9.x works too)
  --port P           client port (default 9092)
  --controller-port  KRaft controller port (default 9093)
  --data-dir D       storage (default \${DATA_DIR:-./data}/kafka-<version>)
  --scram-port P     also a SASL_PLAINTEXT listener with SCRAM-SHA-512 on P; the user is
                     --scram-user (default orderflow) with KAFKA_SCRAM_PASSWORD, stored
                     when the storage is first formatted
  --heap H           maximum Java heap (default 1g)
  --log-level L      ERROR | WARN | INFO | DEBUG on the console (default WARN; the full
                     log is <data-dir>/server.log)
`;

async function main() {
  const { values } = parseArgs({
    options: {
      version: { type: 'string' },
      port: { type: 'string', default: '9092' },
      'controller-port': { type: 'string', default: '9093' },
      'data-dir': { type: 'string' },
      'scram-port': { type: 'string' },
      'scram-user': { type: 'string', default: 'orderflow' },
      heap: { type: 'string' },
      'log-level': { type: 'string', default: 'WARN' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const fail = (message: string): never => {
    process.stderr.write(`kafka: ${message}\n\n${HELP}`);
    process.exit(2);
  };
  const portOf = (name: string, value: string) => {
    const n = Number(value);
    return Number.isInteger(n) && n > 0 && n < 65536 ? n : fail(`--${name} must be a port number (1-65535), not ${value}`);
  };
  const logLevel = values['log-level'].toUpperCase();
  if (logLevel !== 'ERROR' && logLevel !== 'WARN' && logLevel !== 'INFO' && logLevel !== 'DEBUG') fail(`--log-level must be ERROR, WARN, INFO or DEBUG, not ${values['log-level']}`);
  if (values.version !== undefined && !/^\d+\.\d+\.\d+$/.test(values.version)) fail(`--version must look like 4.4.0, not ${values.version}`);
  let scram: ScramListener | undefined;
  if (values['scram-port'] !== undefined) {
    const password = process.env.KAFKA_SCRAM_PASSWORD;
    if (!password) fail('--scram-port needs the password in KAFKA_SCRAM_PASSWORD');
    scram = { port: portOf('scram-port', values['scram-port']), username: values['scram-user'], password: password ?? '' };
  }

  const version = values.version ?? DEFAULT_KAFKA_VERSION;
  const started = performance.now();
  process.stdout.write(`kafka: resolving org.apache.kafka:kafka_2.13:${version} (Maven Central, cached in ~/.m2) …\n`);
  let broker: KafkaBroker;
  try {
    broker = await startKafkaBroker({
      version,
      port: portOf('port', values.port),
      controllerPort: portOf('controller-port', values['controller-port']),
      dataDir: values['data-dir'],
      scram,
      heap: values.heap,
      logLevel: logLevel as KafkaBrokerOptions['logLevel'],
    });
  } catch (error) {
    process.stderr.write(`kafka: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    [
      `kafka: Apache Kafka ${broker.version} accepts connections on ${broker.bootstrap}${scram ? ` (SASL/SCRAM-SHA-512 on 127.0.0.1:${scram.port})` : ''} after ${seconds}s`,
      `kafka: storage ${broker.dataDir}, log ${join(broker.dataDir, 'server.log')}`,
      `kafka: KAFKA_BROKERS=${broker.bootstrap} npm run start:cluster   (Ctrl+C stops the broker)`,
      '',
    ].join('\n'),
  );
  let stopping = false;
  exitOnStopSignals(async () => {
    stopping = true;
    process.stdout.write('kafka: stopping the broker …\n');
    const code = await broker.stop();
    // 143: the JVM reports SIGTERM even after its clean shutdown.
    process.stdout.write(`kafka: stopped${code === 0 || code === 143 ? '' : ` (exit code ${code})`}\n`);
    return 0;
  });
  const code = await broker.exited;
  if (!stopping) {
    process.stderr.write(`kafka: the broker exited on its own (code ${code}); see ${join(broker.dataDir, 'server.log')}\n`);
    process.exit(1);
  }
}

if (isEntryPoint(import.meta.url)) await main();
