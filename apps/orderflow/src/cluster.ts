import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Config, type DevIssuer, type ServiceName, SERVICE_PORTS, backoffMs, createRootLogger, describeAuth, ensurePostgresDatabase, exitOnStopSignals, isEntryPoint, loadConfig, redactUrl } from '@orderflow/platform';
import { bundleServices } from '../start-bundled.mjs';
import { signInHelp, startDevelopmentIssuerIfNeeded } from './development-issuer.ts';
import { type RunningWebUi, startWebUiBesideServices } from './web-ui.ts';

/**
 * Multi-process mode: every service as its own OS process (`node
 * apps/orderflow/dist/service-<name>.mjs`, a bundle of services/<name>/main.ts), sharing
 * a real broker and PostgreSQL, as in production.
 * `npm run start:cluster` runs it; tests call startCluster().
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** A shared broker and database on this machine unless the environment names others. */
export const CLUSTER_DEFAULTS = {
  NATS_URL: 'nats://127.0.0.1:4222',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orderflow',
} as const;
/** Start order matters only for reading logs: the read side first, the entry point last. */
const SERVICES: readonly ServiceName[] = ['status', 'inventory', 'payment', 'shipping', 'notification', 'orchestrator', 'order'];
const STOP_TIMEOUT_MS = 20_000;
const KEPT_LINES = 40;

export type Env = Record<string, string | undefined>;

/**
 * What happens to a service process that dies unexpectedly, as Kubernetes does with a
 * crashed container: started again after a back-off that doubles with each crash of the
 * window (initialBackoffMs, 2×, 4×, … capped at maxBackoffMs), until it has crashed
 * maxCrashes times within windowMs: then it is left down (the cluster gives up on it).
 */
export interface RestartPolicy {
  maxCrashes: number;
  windowMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** npm run start:cluster's policy: a service that crashes 5 times within 2 minutes is a bug to fix, not to retry. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxCrashes: 5, windowMs: 120_000, initialBackoffMs: 500, maxBackoffMs: 10_000 };

/**
 * The decision after a crash at `now`, given the earlier crashes' times (pruned here to the
 * window): start again after delayMs, or give up.
 */
export function afterCrash(policy: RestartPolicy, crashes: number[], now: number): { giveUp: true } | { giveUp: false; delayMs: number } {
  const recent = crashes.filter((at) => now - at < policy.windowMs);
  recent.push(now);
  crashes.splice(0, crashes.length, ...recent);
  if (recent.length >= policy.maxCrashes) return { giveUp: true };
  return { giveUp: false, delayMs: backoffMs(policy, recent.length) };
}

export interface ClusterOptions {
  /** Laid over process.env; NATS_URL and DATABASE_URL get CLUSTER_DEFAULTS when unset (DATABASE_URL= keeps SQLite). */
  env?: Env;
  /** 'free': free ports picked now and kept across restarts. Else per-service overrides of the configured ports. */
  ports?: 'free' | Partial<Record<ServiceName, number>>;
  /** Each log line of a child; default: written to stdout prefixed with the service's name. */
  output?: (service: ServiceName, line: string) => void;
  /** A child that exited without stop(), kill() or restart() asking it to. */
  onUnexpectedExit?: (service: ServiceName, code: number | null, signal: NodeJS.Signals | null) => void;
  /** Start such a child again with back-off (default: leave it down, for tests that crash services themselves). */
  restartPolicy?: RestartPolicy;
  /** A crashed child is being started again after delayMs (restartPolicy). */
  onRestart?: (service: ServiceName, crashes: number, delayMs: number) => void;
  /** A child crashed restartPolicy.maxCrashes times within its window: it stays down. */
  onGiveUp?: (service: ServiceName, crashes: number) => void;
  readyTimeoutMs?: number;
}

export interface Cluster {
  config: Config;
  /** Service name → base URL. */
  urls: Record<string, string>;
  /** The environment every child was started with. */
  env: Env;
  /** Signals the service (SIGTERM: graceful; SIGKILL: a crash) and resolves with its exit code once it is gone. */
  kill(name: ServiceName, signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts a service that is not running, on its port, and waits until it is ready. */
  start(name: ServiceName): Promise<void>;
  /** Another process of the service beside the running one, as a scale-up does; stop() it to scale down (stop() of the cluster stops it too). */
  startReplica(name: ServiceName): Promise<Replica>;
  /** Stops one service gracefully and starts it again; without a name, every service. */
  restart(name?: ServiceName): Promise<void>;
  /** The entry point first (no new work), then every other service; each finishes what it has in flight. */
  stop(): Promise<void>;
  /** The last log lines of a service (diagnostics). */
  lastLines(name: ServiceName): string[];
  /** Process id of each running service. */
  pids(): Partial<Record<ServiceName, number>>;
}

export interface Replica {
  pid: number | undefined;
  /** Its base URL, once it listens. */
  url(): string | undefined;
  /** Signals it (SIGTERM: it leaves gracefully) and resolves with its exit code once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The environment the children get: yours, the cluster's defaults, then options.env. */
export function clusterEnv(env: Env = {}): Env {
  const merged: Env = { ...process.env, ...env };
  for (const [name, value] of Object.entries(CLUSTER_DEFAULTS)) if (merged[name] === undefined) merged[name] = value;
  return merged;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const env = clusterEnv(options.env);
  const config = loadConfig(env);
  if (config.bus.kind === 'embedded') {
    throw new Error('the cluster needs a broker every process can reach: set NATS_URL or KAFKA_BROKERS (BUS=embedded works only in one process: npm start)');
  }
  if (config.database.url) await ensurePostgresDatabase(config.database.url);

  const names = SERVICES.filter((name) => name !== 'orchestrator' || config.sagaMode === 'orchestration');
  // Each service runs from a bundle of its own code (see start-bundled.mjs): loading it
  // through tsx took most of a process's start, times seven processes on two cores.
  const entries = await bundleServices(names);
  // 0 lets the service's own listen pick a free port, which it reports over IPC: no window
  // in which another process could take a port chosen here. A restart keeps the port.
  const ports = {} as Record<ServiceName, number>;
  for (const name of names) ports[name] = options.ports === 'free' ? 0 : (options.ports?.[name] ?? config.ports[name]);
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const urls: Record<string, string> = {};

  const output = options.output ?? ((name, line) => process.stdout.write(`${name.padEnd(12)} | ${line}\n`));
  const children = new Map<ServiceName, { child: ChildProcess; exited: Promise<number | null>; expected: boolean }>();
  const lines = new Map<ServiceName, string[]>(names.map((name) => [name, []]));
  const crashes = new Map<ServiceName, number[]>(names.map((name) => [name, []]));
  const pendingRestarts = new Map<ServiceName, NodeJS.Timeout>();
  let stopping = false;

  /** A child died unasked: start it again later (restartPolicy), unless the cluster stops or someone started it meanwhile. */
  const crashed = (name: ServiceName) => {
    const policy = options.restartPolicy;
    if (!policy || stopping) return;
    const decision = afterCrash(policy, crashes.get(name) ?? [], Date.now());
    const count = crashes.get(name)?.length ?? 0;
    if (decision.giveUp) {
      options.onGiveUp?.(name, count);
      return;
    }
    options.onRestart?.(name, count, decision.delayMs);
    const timer = setTimeout(() => {
      pendingRestarts.delete(name);
      if (stopping || children.has(name)) return;
      // Not awaited: a replacement that crashes again comes back here through its exit.
      spawnService(name);
    }, decision.delayMs);
    pendingRestarts.set(name, timer);
  };

  /** A process of the service on `port`; its lines go to `kept` and the output; onListening gets the port it listens on. */
  const spawnProcess = (name: ServiceName, port: number, kept: string[], onListening: (port: number) => void) => {
    // CLUSTER_NODE_ARGS: extra flags for every service's node (--cpu-prof, --inspect=0, ...).
    const nodeArgs = (env.CLUSTER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    // Stack traces name the TypeScript sources' lines.
    const child = spawn(process.execPath, ['--max-semi-space-size=32', '--enable-source-maps', ...nodeArgs, entries[name]], {
      cwd: ROOT,
      env: { ...env, [SERVICE_PORTS[name].variable]: String(port) },
      // The IPC channel lets a child notice when this process is gone, and stop rather than linger.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        kept.push(line);
        if (kept.length > KEPT_LINES) kept.shift();
        output(name, line);
      });
    }
    // runStandalone reports where it listens once it does.
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message?.type === 'listening' && message.url) onListening(Number(new URL(message.url).port));
    });
    return child;
  };

  const spawnService = (name: ServiceName) => {
    const child = spawnProcess(name, ports[name], lines.get(name) ?? [], (port) => {
      ports[name] = port;
      urls[name] = `http://${shownHost}:${port}`;
    });
    const state = {
      child,
      expected: false,
      exited: new Promise<number | null>((resolve) => {
        child.once('exit', (code, signal) => {
          if (!state.expected) {
            // Gone: kill() and start() must not take the dead child for a live one.
            if (children.get(name) === state) children.delete(name);
            options.onUnexpectedExit?.(name, code, signal);
            crashed(name);
          }
          resolve(code);
        });
        child.once('error', () => resolve(null));
      }),
    };
    children.set(name, state);
    return state;
  };

  /** Polls `what`'s /ready at url() (undefined until it listens) until it answers 200; fails if it exits or the time is up. */
  const pollReady = async (what: string, url: () => string | undefined, exited: Promise<unknown>, kept: string[]) => {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    for (;;) {
      if (gone) throw new Error(`${what} exited before it was ready:\n${kept.join('\n')}`);
      const base = url();
      const ready = base !== undefined && (await fetch(`${base}/ready`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.ok, () => false));
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`${what} was not ready at ${base}/ready in time:\n${kept.join('\n')}`);
      await sleep(100);
    }
  };

  const waitReady = (name: ServiceName) => {
    const serviceUrl = () => {
      if (ports[name] === 0) return undefined;
      urls[name] = `http://${shownHost}:${ports[name]}`;
      return urls[name];
    };
    return pollReady(name, serviceUrl, children.get(name)?.exited ?? Promise.resolve(), lines.get(name) ?? []);
  };

  /** Signals the child unless it has exited; resolves with its exit code once it is gone. */
  const stopChild = async (child: ChildProcess, exited: Promise<number | null>, signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    // A graceful stop that hangs is a bug to see, but must not hang the caller forever.
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  const kill = async (name: ServiceName, signal: NodeJS.Signals = 'SIGTERM') => {
    clearTimeout(pendingRestarts.get(name));
    pendingRestarts.delete(name);
    const state = children.get(name);
    if (!state) return null;
    state.expected = true;
    const code = await stopChild(state.child, state.exited, signal);
    children.delete(name);
    return code;
  };

  const start = async (name: ServiceName) => {
    if (children.has(name)) throw new Error(`${name} is already running`);
    clearTimeout(pendingRestarts.get(name));
    pendingRestarts.delete(name);
    spawnService(name);
    await waitReady(name);
  };

  const replicas = new Set<Replica>();
  /** Another process of the service beside the running one (a scale-up), on a free port; ready when this resolves. */
  const startReplica = async (name: ServiceName): Promise<Replica> => {
    const kept: string[] = [];
    let url: string | undefined;
    const child = spawnProcess(name, 0, kept, (port) => {
      url = `http://${shownHost}:${port}`;
    });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(null));
    });
    const replica: Replica = {
      pid: child.pid,
      url: () => url,
      async stop(signal = 'SIGTERM') {
        const code = await stopChild(child, exited, signal);
        replicas.delete(replica);
        return code;
      },
    };
    replicas.add(replica);
    try {
      await pollReady(`a replica of ${name}`, () => url, exited, kept);
    } catch (error) {
      await replica.stop('SIGKILL');
      throw error;
    }
    return replica;
  };

  const stop = async () => {
    stopping = true;
    await Promise.all([...replicas].map((r) => r.stop()));
    for (const timer of pendingRestarts.values()) clearTimeout(timer);
    pendingRestarts.clear();
    await kill('order');
    await Promise.all(names.map((name) => kill(name)));
  };

  try {
    // Started together: each takes a second or two to load, and none depends on another being up.
    await Promise.all(names.map((name) => start(name)));
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    config,
    urls,
    env,
    kill,
    start,
    startReplica,
    async restart(name) {
      if (name) {
        await kill(name);
        await start(name);
        return;
      }
      await stop();
      stopping = false;
      await Promise.all(names.map((n) => start(n)));
    },
    stop,
    lastLines: (name) => [...(lines.get(name) ?? [])],
    pids: () => Object.fromEntries([...children].flatMap(([name, state]) => (state.child.pid ? [[name, state.child.pid]] : []))),
  };
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `npm run start:cluster`: start, print the URLs, restart crashed services, forward SIGINT/SIGTERM, exit when every child has. */
async function main() {
  const startedAt = performance.now();
  const env = clusterEnv();
  // Children write to a pipe; keep their logs readable when ours is a terminal.
  if ((env.LOG_FORMAT ?? 'auto') === 'auto' && process.stdout.isTTY) env.LOG_FORMAT = 'pretty';
  const logger = createRootLogger(loadConfig(env));
  let cluster: Cluster | undefined;
  let web: RunningWebUi | undefined;
  let issuer: DevIssuer | undefined;
  let exitCode = 0;
  let stopping = false;
  const shutdown = exitOnStopSignals(async (reason) => {
    stopping = true;
    logger.info({ reason }, 'stopping every service: each finishes its in-flight work');
    await web?.stop();
    await cluster?.stop();
    await issuer?.stop();
    logger.info('stopped');
    return exitCode;
  });

  try {
    // Every process verifies the development issuer's tokens: it runs here, they get its URL.
    const started = await startDevelopmentIssuerIfNeeded(loadConfig(env));
    issuer = started.issuer;
    if (issuer) env.AUTH_ISSUER = issuer.url;
    cluster = await startCluster({
      env,
      // As Kubernetes would: a crashed service is started again with back-off; one that keeps crashing stops the cluster.
      restartPolicy: DEFAULT_RESTART_POLICY,
      onUnexpectedExit: (name, code, signal) => {
        if (!stopping) logger.error({ service: name, code, signal }, `${name} exited unexpectedly`);
      },
      onRestart: (name, crashes, delayMs) =>
        logger.warn({ service: name, crashes, delayMs }, `starting ${name} again in ${delayMs} ms (crash ${crashes} within ${DEFAULT_RESTART_POLICY.windowMs / 1000}s)`),
      onGiveUp: (name, crashes) => {
        logger.fatal({ service: name, crashes }, `${name} crashed ${crashes} times within ${DEFAULT_RESTART_POLICY.windowMs / 1000}s; stopping the cluster`);
        exitCode = 1;
        void shutdown(`${name} keeps crashing`);
      },
    });
  } catch (error) {
    logger.fatal({ err: error }, `the cluster could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  const { config, urls } = cluster;
  const kafkaPrefix = env.KAFKA_PREFIX ? ` (topics and groups ${env.KAFKA_PREFIX}*)` : '';
  const broker =
    config.bus.kind === 'nats'
      ? `NATS at ${config.bus.url} (streams ${config.bus.streamPrefix}_*)`
      : `Kafka at ${config.bus.kind === 'kafka' ? config.bus.brokers.join(',') : ''}${kafkaPrefix}`;
  const database = config.database.url ? `PostgreSQL at ${redactUrl(config.database.url)}` : `SQLite in ${config.dataDir}`;
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  const out = [
    '',
    `orderflow cluster: ${Object.keys(urls).length} processes, ${broker}, ${database}, ${config.sagaMode} saga; ready in ${seconds}s`,
    describeAuth(config.auth),
    '',
    ...Object.entries(urls).sort(([, a], [, b]) => a.localeCompare(b)).map(([name, url]) => `  ${name.padEnd(13)} ${url}   docs: ${url}/docs`),
    '',
    ...signInHelp(config, issuer),
    '',
    'Ctrl+C stops every service cleanly.',
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  web = await startWebUiBesideServices({ env, port: config.ports.web, hostname: config.host, urls, devIssuerUrl: issuer?.url, logger });
}

if (isEntryPoint(import.meta.url)) await main();
