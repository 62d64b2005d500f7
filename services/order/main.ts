import { OrderStatus } from '@orderflow/contracts';
import { type ServiceOptions, isEntryPoint, loadCatalog, runStandalone, serveHttp, startServiceRuntime } from '@orderflow/platform';
import { orderKeys, trackOrderProgress } from './handlers/track-order-progress.ts';
import { registerOrderRoutes } from './http/routes.ts';
import { orderMigrations, type OrderTables } from './store/schema.ts';

export async function startOrderService(options: ServiceOptions) {
  const { config } = options;
  const runtime = await startServiceRuntime<OrderTables>({ service: 'order', migrations: orderMigrations, ...options });
  const catalog = loadCatalog(config.catalogFile);
  const now = () => runtime.clock.now().toISOString();

  // Facts about one order arrive on three topics at once (PaymentCompleted and Shipped, say):
  // on PostgreSQL their transactions take the order's lock and run one after the other,
  // instead of the second finding the order changed and waiting out a retry's backoff
  // (which held back every later record of its partition).
  await runtime.consume('order', trackOrderProgress(runtime.events, now, config.sagaMode), { lockKeys: orderKeys });

  runtime.metrics.ordersByStatus.reset();
  const db = runtime.db;
  // Counted at scrape time from the orders table, so the gauge is never out of step.
  Object.assign(runtime.metrics.ordersByStatus, {
    async collect(this: typeof runtime.metrics.ordersByStatus) {
      const rows = await db.selectFrom('orders').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
      this.reset();
      for (const status of OrderStatus.options) this.set({ status }, Number(rows.find((r) => r.status === status)?.n ?? 0));
    },
  });

  const prices = new Map(catalog.products.map((p) => [p.productId, { unitPrice: p.unitPrice }]));
  return serveHttp(runtime, { description: 'Accepts orders, follows each order through the saga, cancels.', port: options.port }, (app) =>
    registerOrderRoutes(app, { db, events: runtime.events, relay: runtime.relay, prices, currency: catalog.currency, now, limits: config.limits }),
  );
}

if (isEntryPoint(import.meta.url)) await runStandalone(startOrderService);
