import { randomBytes, randomUUID } from 'node:crypto';
import { type ServiceOptions, createHttpServer, isEntryPoint, listen, openSettingsStore, registerDeadLetterRoutes, registerFailureInjectionRoutes, runStandalone, startServiceRuntime } from '@orderflow/platform';
import { cancelShipment, createShipment } from './handlers/shipping-handlers.ts';
import { ShippingFailureInjection, registerShippingRoutes } from './http/routes.ts';
import { type ShippingTables, shippingMigrations } from './store/schema.ts';

export async function startShippingService(options: ServiceOptions) {
  const { config } = options;
  const runtime = await startServiceRuntime<ShippingTables>({ service: 'shipping', migrations: shippingMigrations, ...options });
  const failures = await openSettingsStore(runtime.db, 'failure-injection', ShippingFailureInjection, { failureRate: config.shippingFailureRate });
  const deps = {
    events: runtime.events,
    now: () => runtime.clock.now().toISOString(),
    newId: randomUUID,
    failureRate: () => failures.current().failureRate,
    random: Math.random,
    randomHex: () => randomBytes(4).toString('hex'),
    carrierDelayMs: config.shippingDelayMs,
  };
  await runtime.consume('shipping', { PaymentCompleted: createShipment(deps), OrderCancelled: cancelShipment(deps) });

  const app = await createHttpServer({
    service: 'shipping',
    description: 'Creates shipments with tracking numbers; can fail.',
    logger: runtime.logger,
    metrics: runtime.metrics,
    readiness: runtime.readiness,
  });
  registerShippingRoutes(app, { db: runtime.db });
  registerFailureInjectionRoutes(app, ShippingFailureInjection, failures, 'shipping failure rate');
  registerDeadLetterRoutes(app, runtime.db, runtime.consumers);
  return listen('shipping', app, config.host, options.port ?? config.ports.shipping, runtime.stop);
}

if (isEntryPoint(import.meta.url)) await runStandalone(startShippingService);
