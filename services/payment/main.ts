import { randomUUID } from 'node:crypto';
import { type ServiceOptions, createHttpServer, isEntryPoint, listen, openSettingsStore, registerDeadLetterRoutes, registerFailureInjectionRoutes, runStandalone, startServiceRuntime } from '@orderflow/platform';
import { chargePayment, refundPayment } from './handlers/payment-handlers.ts';
import { PaymentFailureInjection, registerPaymentRoutes } from './http/routes.ts';
import { type PaymentTables, paymentMigrations } from './store/schema.ts';

export async function startPaymentService(options: ServiceOptions) {
  const { config } = options;
  const runtime = await startServiceRuntime<PaymentTables>({ service: 'payment', migrations: paymentMigrations, ...options });
  const failures = await openSettingsStore(runtime.db, 'failure-injection', PaymentFailureInjection, { failureRate: config.paymentFailureRate });
  const deps = {
    events: runtime.events,
    now: () => runtime.clock.now().toISOString(),
    newId: randomUUID,
    failureRate: () => failures.current().failureRate,
    random: Math.random,
  };
  const refund = refundPayment(deps);
  await runtime.consume('payment', { InventoryConfirmed: chargePayment(deps), ShipmentFailed: refund, OrderCancelled: refund });

  const app = await createHttpServer({
    service: 'payment',
    description: 'Charges (simulated) and refunds.',
    logger: runtime.logger,
    metrics: runtime.metrics,
    readiness: runtime.readiness,
  });
  registerPaymentRoutes(app, { db: runtime.db });
  registerFailureInjectionRoutes(app, PaymentFailureInjection, failures, 'payment failure rate');
  registerDeadLetterRoutes(app, runtime.db, runtime.consumers);
  return listen('payment', app, config.host, options.port ?? config.ports.payment, runtime.stop);
}

if (isEntryPoint(import.meta.url)) await runStandalone(startPaymentService);
