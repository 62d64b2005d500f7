import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { type Config, type RunningService, type ServiceName, createBus, createRootLogger, createThreadBus, startTelemetry } from '@orderflow/platform';
import { startServices } from './system.ts';

/** What the main thread asks of this one; each request with an id gets a 'done' answer. */
export type ThreadRequest =
  | { type: 'stopService'; id: number; name: ServiceName }
  | { type: 'startService'; id: number; name: ServiceName; port: number }
  | { type: 'stop'; id: number };
export type ThreadAnswer =
  | { type: 'ready'; urls: Record<string, string> }
  | { type: 'failed'; message: string }
  | { type: 'done'; id: number; url?: string; error?: string };

/**
 * A worker thread of `npm start`: runs some of the services (THREAD_SERVICES) with the
 * main thread's configuration, on the process's embedded broker through `busPort`, or on its own
 * connection to a real broker.
 */
const { names, busPort, freePorts, config } = workerData as { names: ServiceName[]; busPort?: MessagePort; freePorts: boolean; config: Config };
const port = parentPort!;
const answer = (message: ThreadAnswer) => port.postMessage(message);

await startTelemetry();
const logger = createRootLogger(config);
const bus = busPort ? createThreadBus(busPort) : createBus(config);
let services: Record<string, RunningService>;
try {
  services = await startServices(names, { config, bus, logger, ...(freePorts ? { port: 0 } : {}) });
} catch (error) {
  await bus.close().catch(() => undefined);
  answer({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  port.close();
  throw error;
}
answer({ type: 'ready', urls: Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s.url])) });

port.on('message', (request: ThreadRequest) => {
  const run = async (): Promise<string | undefined> => {
    switch (request.type) {
      case 'stopService':
        await services[request.name]?.stop();
        delete services[request.name];
        return undefined;
      case 'startService': {
        const started = await startServices([request.name], { config, bus, logger, port: request.port });
        Object.assign(services, started);
        return started[request.name]!.url;
      }
      case 'stop':
        // The entry point first, as in-process (startServices started it last).
        for (const service of Object.values(services).reverse()) await service.stop();
        await bus.close();
        return undefined;
    }
  };
  run().then(
    (url) => answer({ type: 'done', id: request.id, ...(url ? { url } : {}) }),
    (error: unknown) => answer({ type: 'done', id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
