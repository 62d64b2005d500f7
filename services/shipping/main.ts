import { randomBytes, randomUUID } from 'node:crypto';
import { type ServiceOptions, isEntryPoint, openSettingsStore, registerFailureInjectionRoutes, runStandalone, serveHttp, startServiceRuntime } from '@orderflow/platform';
import { withCarrierLatency } from './handlers/carrier-latency.ts';
import { cancelShipment, createShipment } from './handlers/shipping-handlers.ts';
import { ShippingFailureInjection, registerShippingRoutes } from './http/routes.ts';
import { type ShippingTables, shippingMigrations } from './store/schema.ts';

export async function startShippingService(options: ServiceOptions) {
  const { config } = options;
  const runtime = await startServiceRuntime<ShippingTables>({
    service: 'shipping',
    migrations: shippingMigrations,
    ...options,
    bus: withCarrierLatency(options.bus, config.shippingDelayMs),
  });
  const failures = await openSettingsStore(runtime.db, 'failure-injection', ShippingFailureInjection, { failureRate: config.shippingFailureRate });
  const deps = {
    events: runtime.events,
    now: () => runtime.clock.now().toISOString(),
    newId: randomUUID,
    failureRate: () => failures.current().failureRate,
    random: Math.random,
    randomHex: () => randomBytes(4).toString('hex'),
  };
  // One handler per step for the event (choreography) and the command (orchestration).
  await runtime.consume(
    'shipping',
    config.sagaMode === 'choreography'
      ? { PaymentCompleted: createShipment(deps), OrderCancelled: cancelShipment(deps) }
      : { CreateShipment: createShipment(deps), CancelShipment: cancelShipment(deps) },
  );

  return serveHttp(runtime, { description: 'Creates shipments with tracking numbers; can fail.', port: options.port }, (app) => {
    registerShippingRoutes(app, { db: runtime.db });
    registerFailureInjectionRoutes(app, ShippingFailureInjection, failures, 'shipping failure rate');
  });
}

if (isEntryPoint(import.meta.url)) await runStandalone(startShippingService);
