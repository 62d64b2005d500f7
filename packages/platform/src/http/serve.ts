import { type RunningService, listen } from '../service-host.ts';
import type { ServiceRuntime } from '../service-runtime.ts';
import { registerDeadLetterRoutes } from './dead-letter-routes.ts';
import { type HttpApp, createHttpServer } from './http-server.ts';

export interface ServeOptions {
  description: string;
  /** Overrides the configured port (0: a free one). */
  port?: number | undefined;
  websocket?: boolean;
  /** Checks beyond the database and the broker. */
  readiness?: () => Promise<Record<string, boolean>>;
}

/**
 * A service's HTTP side: the standard routes (health, readiness, metrics, OpenAPI, dead
 * letters) plus the service's own, listening on its port. Stopping it stops the runtime.
 */
export async function serveHttp<Schema>(
  runtime: ServiceRuntime<Schema>,
  options: ServeOptions,
  registerRoutes: (app: HttpApp) => void | Promise<void>,
): Promise<RunningService> {
  const app = await createHttpServer({
    service: runtime.service,
    description: options.description,
    logger: runtime.logger,
    metrics: runtime.metrics,
    websocket: options.websocket ? { maxMessageBytes: runtime.config.limits.webSocketMaxMessageBytes } : undefined,
    auth: runtime.config.auth,
    readiness: async () => ({ ...(await runtime.readiness()), ...(await options.readiness?.()) }),
  });
  await registerRoutes(app);
  registerDeadLetterRoutes(app, runtime.db, runtime.consumers);
  const { config } = runtime;
  return listen(runtime.service, app, config.host, options.port ?? config.ports[runtime.service], runtime.stop);
}
