import { randomUUID } from 'node:crypto';
import { type ServiceOptions, isEntryPoint, openSettingsStore, registerFailureInjectionRoutes, runStandalone, serveHttp, startServiceRuntime } from '@orderflow/platform';
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
  const charge = chargePayment(deps);
  const refund = refundPayment(deps);
  await runtime.consume(
    'payment',
    config.sagaMode === 'choreography'
      ? { InventoryConfirmed: charge, ShipmentFailed: refund, OrderCancelled: refund }
      : { ProcessPayment: charge, RefundPayment: refund },
  );

  return serveHttp(runtime, { description: 'Charges (simulated) and refunds.', port: options.port }, (app) => {
    registerPaymentRoutes(app, { db: runtime.db });
    registerFailureInjectionRoutes(app, PaymentFailureInjection, failures, 'payment failure rate');
  });
}

if (isEntryPoint(import.meta.url)) await runStandalone(startPaymentService);
