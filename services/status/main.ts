import { type RunningService, type ServiceOptions, type ServiceRuntime, isEntryPoint, runStandalone, serveHttp, startServiceRuntime } from '@orderflow/platform';
import { startProjection } from './handlers/project-events.ts';
import { createConnectionLimiter } from './http/live-updates.ts';
import { registerRebuildRoutes } from './http/rebuild-routes.ts';
import { registerStatusRoutes } from './http/routes.ts';
import { registerSseRoutes } from './http/sse-routes.ts';
import { registerWebSocketRoutes } from './http/websocket-routes.ts';
import { createReadModelQueries } from './store/read-model.ts';
import { type StatusTables, statusMigrations } from './store/schema.ts';

/** The projection of the log into the runtime's database, and the queries over it. */
export async function openReadModel(runtime: ServiceRuntime<StatusTables>) {
  const { logger, metrics, db, config } = runtime;
  const projection = await startProjection({
    consumer: {
      service: 'status',
      db,
      bus: runtime.bus,
      relay: runtime.relay,
      logger,
      metrics,
      retry: config.retry,
      batchMax: config.batchMax,
      dialect: runtime.database.dialect,
    },
    consumers: runtime.consumers,
    now: () => runtime.clock.now(),
    onListenerError: (err) => logger.warn({ err }, 'live update listener failed'),
  });
  return { projection, queries: createReadModelQueries(db) };
}

export async function startStatusService(options: ServiceOptions): Promise<RunningService> {
  const { config } = options;
  const runtime = await startServiceRuntime<StatusTables>({ service: 'status', migrations: statusMigrations, ...options });
  const { projection, queries } = await openReadModel(runtime);
  const now = () => runtime.clock.now();
  let caughtUp = false;
  void projection.caughtUp().then(() => {
    caughtUp = true;
    runtime.logger.info('status read model caught up with the log');
  });

  const description = "Projects every order's status and timeline from the events into its database; REST, WebSocket and SSE.";
  // Not ready until the events the log held at start are projected (after a restart: only what came while it was down).
  return serveHttp(runtime, { description, port: options.port, websocket: true, readiness: async () => ({ caughtUp }) }, (app) => {
    registerStatusRoutes(app, { queries, now });
    registerRebuildRoutes(app, projection);
    const { limits } = config;
    const live = {
      queries,
      projection,
      connections: createConnectionLimiter({ total: limits.liveConnections, perIp: limits.liveConnectionsPerIp }),
      maxBufferedBytes: limits.liveMaxBufferedBytes,
    };
    registerWebSocketRoutes(app, live);
    registerSseRoutes(app, live);
  });
}

if (isEntryPoint(import.meta.url)) await runStandalone(startStatusService);
