import { randomUUID } from 'node:crypto';
import { type ServiceOptions, createHttpServer, isEntryPoint, listen, registerDeadLetterRoutes, runStandalone, startServiceRuntime } from '@orderflow/platform';
import { sendConfirmation } from './handlers/send-confirmation.ts';
import { registerNotificationRoutes } from './http/routes.ts';
import { type NotificationTables, notificationMigrations } from './store/schema.ts';

export async function startNotificationService(options: ServiceOptions) {
  const { config } = options;
  const runtime = await startServiceRuntime<NotificationTables>({ service: 'notification', migrations: notificationMigrations, ...options });
  await runtime.consume('notification', {
    PaymentCompleted: sendConfirmation({ events: runtime.events, now: () => runtime.clock.now().toISOString(), newId: randomUUID }),
  });

  const app = await createHttpServer({
    service: 'notification',
    description: 'Records and sends customer notifications.',
    logger: runtime.logger,
    metrics: runtime.metrics,
    readiness: runtime.readiness,
  });
  registerNotificationRoutes(app, { db: runtime.db });
  registerDeadLetterRoutes(app, runtime.db, runtime.consumers);
  return listen('notification', app, config.host, options.port ?? config.ports.notification, runtime.stop);
}

if (isEntryPoint(import.meta.url)) await runStandalone(startNotificationService);
