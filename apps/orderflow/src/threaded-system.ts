import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { type Config, type Logger, type ServiceName, serveBus } from '@orderflow/platform';
import type { ThreadAnswer, ThreadCommand, ThreadStart } from './service-thread.ts';
import { type ServiceThread, serviceThreadWanted, spawnServiceThread } from './service-thread-spawn.ts';
import { type RunningSystem, servicesFor, startSystem } from './system.ts';

/**
 * What the worker thread runs by default: the split measured fastest on two cores. The
 * broker stays on the main thread with the status service, which reads every event.
 */
const DEFAULT_THREAD_SERVICES: readonly ServiceName[] = ['order', 'notification', 'shipping'];

/**
 * THREAD_SERVICES: the services `npm start` runs in a second thread (comma-separated,
 * `none` for one thread). Default: order, notification and shipping when the machine has
 * more than one core. Everything else stays on the main thread with the broker.
 */
export function threadServices(config: Config, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): ServiceName[] {
  if (!serviceThreadWanted(env, cores)) return [];
  const running = servicesFor(config).map(([name]) => name);
  const value = env.THREAD_SERVICES?.trim();
  if (!value) return DEFAULT_THREAD_SERVICES.filter((n) => running.includes(n));
  const names = value.split(',').map((n) => n.trim());
  const unknown = names.filter((n) => !running.includes(n as ServiceName));
  if (unknown.length > 0) {
    throw new Error(`THREAD_SERVICES: ${unknown.join(', ')} is not a service this saga mode runs (one of ${running.join(', ')}, or none)`);
  }
  if (names.length === running.length) throw new Error('THREAD_SERVICES: leave at least one service on the main thread, with the broker');
  return names as ServiceName[];
}

/**
 * A worker thread's stdout is never a terminal (its output goes through this thread's), so
 * LOG_FORMAT=auto is decided here, where it can be: readable on a terminal, else JSON.
 */
const resolvedLogFormat = (config: Config): Config['logFormat'] =>
  config.logFormat === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : config.logFormat;

/** As RunningSystem, its services spread over two threads. */
export type ThreadedSystem = Omit<RunningSystem, 'services'>;

/**
 * Every service in this process, over two threads: `threaded` in a worker thread, the
 * rest here with the broker. On the embedded broker the worker reaches it through a
 * MessagePort (serveBus), so the log, the offsets and the retries stay in one place.
 */
export async function startThreadedSystem(
  config: Config,
  logger: Logger,
  threaded: readonly ServiceName[],
  options: { freePorts?: boolean; thread?: ServiceThread } = {},
): Promise<ThreadedSystem> {
  const here = servicesFor(config)
    .map(([name]) => name)
    .filter((name) => !threaded.includes(name));
  // Spawned before this thread starts its services, it loads its modules meanwhile.
  const thread = options.thread ?? spawnServiceThread();
  const worker = thread.worker;
  const system = await startSystem(config, logger, { freePorts: options.freePorts, only: here }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });

  // On a real broker the worker opens its own connection; on the embedded one it is served this one.
  let busPort: MessagePort | undefined;
  if (config.bus.kind === 'embedded') {
    const channel = new MessageChannel();
    serveBus(system.bus, channel.port1);
    busPort = channel.port2;
  }
  const start: ThreadStart = { type: 'start', names: [...threaded], busPort, freePorts: options.freePorts ?? false, config: { ...config, logFormat: resolvedLogFormat(config) } };
  worker.postMessage(start, busPort ? [busPort] : []);
  const workerUrls = await Promise.race([
    new Promise<Record<string, string>>((resolve, reject) => {
      worker.once('message', (message: ThreadAnswer) => (message.type === 'ready' ? resolve(message.urls) : reject(new Error(message.type === 'failed' ? message.message : 'unexpected'))));
    }),
    thread.ended,
  ]).catch(async (error: unknown) => {
    await worker.terminate();
    await system.stop();
    throw error;
  });
  // A thread that dies takes its services with it: the process is no longer whole, so it ends.
  worker.on('error', (error) => {
    logger.fatal({ err: error }, 'the service thread failed');
    process.exit(1);
  });

  let nextId = 1;
  const answers = new Map<number, (answer: Extract<ThreadAnswer, { type: 'done' }>) => void>();
  worker.on('message', (message: ThreadAnswer) => {
    if (message.type !== 'done') return;
    answers.get(message.id)?.(message);
    answers.delete(message.id);
  });
  const ask = (command: ThreadCommand) =>
    new Promise<void>((resolve, reject) => {
      const id = nextId++;
      answers.set(id, (answer) => (answer.error ? reject(new Error(answer.error)) : resolve()));
      worker.postMessage({ ...command, id });
    });

  return {
    bus: system.bus,
    urls: { ...system.urls, ...workerUrls },
    stopService: (name) => (threaded.includes(name) ? ask({ type: 'stopService', name }) : system.stopService(name)),
    startService: (name) => (threaded.includes(name) ? ask({ type: 'startService', name }) : system.startService(name)),
    async stop() {
      // The worker holds the entry point: it stops first, so no new work arrives meanwhile.
      await ask({ type: 'stop' });
      await worker.terminate();
      await system.stop();
    },
  };
}
