import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { Bus } from './bus/bus.ts';
import { type Config, loadConfig } from './config.ts';
import type { HttpApp } from './http/http-server.ts';
import { createRootLogger } from './logging.ts';
import type { Clock } from './messaging/event-factory.ts';
import { createBus } from './service-runtime.ts';
import { startTelemetry } from './telemetry.ts';

/** What every service's start function takes: wiring decided by the caller. */
export interface ServiceOptions {
  config: Config;
  bus: Bus;
  logger: Logger;
  clock?: Clock;
  /** Port to listen on; 0 picks a free one (tests). Defaults to the configured port. */
  port?: number;
}

export interface RunningService {
  name: string;
  url: string;
  /** HTTP stops taking requests, consumers finish what is in flight, the outbox drains. */
  stop(): Promise<void>;
}

export async function listen(name: string, app: HttpApp, host: string, port: number, stopRuntime: () => Promise<void>): Promise<RunningService> {
  await app.listen({ host, port });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    name,
    url: `http://${shownHost}:${actualPort}`,
    async stop() {
      // A request in flight when the close begins (one waiting on its token's verification,
      // say) leaves a keep-alive connection behind once answered, which would hold the close
      // for the keep-alive timeout (72 s): end each connection as soon as it is idle.
      const idle = setInterval(() => app.server.closeIdleConnections(), 50);
      try {
        await app.close();
      } finally {
        clearInterval(idle);
      }
      await stopRuntime();
    },
  };
}

/** True when this module is the program node was started with. */
export const isEntryPoint = (moduleUrl: string): boolean =>
  process.argv[1] !== undefined && pathToFileURL(resolve(process.argv[1])).href === moduleUrl;

/** Runs one service as its own process: configuration from the environment, stop on SIGINT/SIGTERM. */
export async function runStandalone(start: (options: ServiceOptions) => Promise<RunningService>): Promise<void> {
  await startTelemetry(); // first: spans need the SDK registered before any is made (no-op without OTEL_EXPORTER_OTLP_ENDPOINT)
  const config = loadConfig();
  const logger = createRootLogger(config);
  const bus = createBus(config, logger);
  const service = await start({ config, bus, logger });
  logger.info({ service: service.name, url: service.url }, `${service.name} service listening on ${service.url}`);
  // A parent with an IPC channel (npm run start:cluster) learns the port this way, 0 included.
  process.send?.({ type: 'listening', service: service.name, url: service.url });
  const shutdown = exitOnStopSignals(async (reason) => {
    logger.info({ reason }, 'stopping: finishing in-flight work');
    // Work that cannot finish (a broker that never comes back) must not keep the process
    // alive forever: what did not commit is redelivered to the next instance.
    setTimeout(() => {
      logger.error('in-flight work did not finish in time; exiting, uncommitted records will be redelivered');
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    try {
      await service.stop();
      await bus.close();
    } catch (error) {
      logger.error({ err: error }, 'stopping failed');
      return 1;
    }
    logger.info('stopped');
    return 0;
  });
  // Started by a parent with an IPC channel (npm run start:cluster): stop when it is gone.
  if (process.connected) process.once('disconnect', () => void shutdown('parent process exited'));
}

/**
 * How every command of this project ends on Ctrl+C or SIGTERM: `stop` runs once (a second
 * signal meanwhile changes nothing), then the process exits with the code it returns.
 * Returns the same shutdown, for other reasons to stop (a parent gone, a service given up on).
 */
export function exitOnStopSignals(stop: (reason: string) => Promise<number>): (reason: string) => Promise<void> {
  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    process.exit(await stop(reason));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown(signal));
  return shutdown;
}

const STOP_TIMEOUT_MS = 15_000;
