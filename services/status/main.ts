import { OrderStatus } from '@orderflow/contracts';
import { type RunningService, type ServiceOptions, isEntryPoint, runStandalone, serveHttp, startServiceRuntime } from '@orderflow/platform';
import { projectEvents } from './handlers/project-events.ts';
import { createConnectionLimiter } from './http/live-updates.ts';
import { registerStatusRoutes } from './http/routes.ts';
import { registerSseRoutes } from './http/sse-routes.ts';
import { registerWebSocketRoutes } from './http/websocket-routes.ts';
import { createReadModel } from './store/read-model.ts';

export async function startStatusService(options: ServiceOptions): Promise<RunningService> {
  const { config } = options;
  // No tables of its own: the database holds only the platform's (dead letters).
  const runtime = await startServiceRuntime<object>({ service: 'status', migrations: {}, ...options });
  const { logger, metrics } = runtime;
  const now = () => runtime.clock.now();
  const readModel = createReadModel({ onListenerError: (err) => logger.warn({ err }, 'live update listener failed') });

  metrics.ordersByStatus.reset();
  for (const status of OrderStatus.options) metrics.ordersByStatus.set({ status }, 0);
  const consumer = await projectEvents({
    bus: runtime.bus,
    readModel,
    logger,
    metrics,
    retry: config.retry,
    db: runtime.db,
  });
  // Registered with the runtime so that stop() closes it and the admin API can replay through it.
  runtime.consumers.push(consumer);
  metrics.watchLag(consumer.group, consumer.subscription);
  let caughtUp = false;
  void consumer.subscription.caughtUp().then(() => {
    caughtUp = true;
    logger.info({ orders: readModel.orders().length }, 'status read model caught up with the log');
  });

  const description = "Rebuilds every order's status and timeline from the events; REST, WebSocket and SSE.";
  // Not ready until the replay at start is done, so no client sees a half-built read model.
  return serveHttp(runtime, { description, port: options.port, websocket: true, readiness: async () => ({ caughtUp }) }, (app) => {
    registerStatusRoutes(app, { readModel, now });
    const { limits } = config;
    const live = {
      readModel,
      connections: createConnectionLimiter({ total: limits.liveConnections, perIp: limits.liveConnectionsPerIp }),
      maxBufferedBytes: limits.liveMaxBufferedBytes,
    };
    registerWebSocketRoutes(app, live);
    registerSseRoutes(app, live);
  });
}

if (isEntryPoint(import.meta.url)) await runStandalone(startStatusService);
