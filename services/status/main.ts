import { OrderStatus } from '@orderflow/contracts';
import { type RunningService, type ServiceOptions, createHttpServer, isEntryPoint, listen, registerDeadLetterRoutes, runStandalone, startServiceRuntime } from '@orderflow/platform';
import { projectEvents } from './handlers/project-events.ts';
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
  let caughtUp = false;
  void consumer.subscription.caughtUp().then(() => {
    caughtUp = true;
    logger.info({ orders: readModel.orders().length }, 'status read model caught up with the log');
  });

  const app = await createHttpServer({
    service: 'status',
    description: "Rebuilds every order's status and timeline from the events; REST, WebSocket and SSE.",
    logger,
    metrics,
    websocket: true,
    // Not ready until the replay at start is done, so no client sees a half-built read model.
    readiness: async () => ({ ...(await runtime.readiness()), caughtUp }),
  });
  registerStatusRoutes(app, { readModel, now });
  registerWebSocketRoutes(app, { readModel });
  registerSseRoutes(app, { readModel });
  registerDeadLetterRoutes(app, runtime.db, runtime.consumers);
  return listen('status', app, config.host, options.port ?? config.ports.status, runtime.stop);
}

if (isEntryPoint(import.meta.url)) await runStandalone(startStatusService);
