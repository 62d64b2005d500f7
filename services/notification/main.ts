import { randomUUID } from 'node:crypto';
import { type ServiceOptions, isEntryPoint, runStandalone, serveHttp, startServiceRuntime } from '@orderflow/platform';
import { sendConfirmation } from './handlers/send-confirmation.ts';
import { registerNotificationRoutes } from './http/routes.ts';
import { type NotificationTables, notificationMigrations } from './store/schema.ts';

export async function startNotificationService(options: ServiceOptions) {
  const { config } = options;
  const runtime = await startServiceRuntime<NotificationTables>({ service: 'notification', migrations: notificationMigrations, ...options });
  const send = sendConfirmation({ events: runtime.events, now: () => runtime.clock.now().toISOString(), newId: randomUUID });
  await runtime.consume('notification', config.sagaMode === 'choreography' ? { PaymentCompleted: send } : { SendNotification: send });

  return serveHttp(runtime, { description: 'Records and sends customer notifications.', port: options.port }, (app) =>
    registerNotificationRoutes(app, { db: runtime.db }),
  );
}

if (isEntryPoint(import.meta.url)) await runStandalone(startNotificationService);
