import { type MessagePort, parentPort } from 'node:worker_threads';
import { type Config, type ServiceName, createBus, createRootLogger, createThreadBus, startTelemetry } from '@orderflow/platform';
import { startSystem } from './system.ts';

/** What the main thread asks of this one, each with an id that its 'done' answer repeats. */
export type ThreadCommand = { type: 'stopService'; name: ServiceName } | { type: 'startService'; name: ServiceName } | { type: 'stop' };
/** The first message: what to run, with the main thread's configuration, on busPort (the embedded broker) or its own connection. */
export type ThreadStart = { type: 'start'; names: ServiceName[]; busPort?: MessagePort; freePorts: boolean; config: Config };
export type ThreadAnswer = { type: 'ready'; urls: Record<string, string> } | { type: 'failed'; message: string } | { type: 'done'; id: number; error?: string };

/**
 * A worker thread of `npm start`: runs some of the services (THREAD_SERVICES) with the
 * main thread's configuration, on the process's embedded broker through `busPort`, or on
 * its own connection to a real broker.
 */
const port = parentPort!;
// Spawned before the main thread knows its configuration (spawnServiceThread): this module's
// imports load meanwhile, then the first message says what to run.
const { names, busPort, freePorts, config } = await new Promise<ThreadStart>((resolve) => port.once('message', resolve));
const answer = (message: ThreadAnswer) => port.postMessage(message);

await startTelemetry();
const logger = createRootLogger(config);
const bus = busPort ? createThreadBus(busPort) : createBus(config);
const system = await startSystem(config, logger, { freePorts, only: names, bus }).catch((error: unknown) => {
  answer({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  port.close();
  throw error;
});
answer({ type: 'ready', urls: system.urls });

port.on('message', (command: ThreadCommand & { id: number }) => {
  const run = () =>
    command.type === 'stopService' ? system.stopService(command.name) : command.type === 'startService' ? system.startService(command.name) : system.stop();
  run().then(
    () => answer({ type: 'done', id: command.id }),
    (error: unknown) => answer({ type: 'done', id: command.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
