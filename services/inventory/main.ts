import { type ServiceOptions, appendToOutbox, isEntryPoint, loadCatalog, openSettingsStore, registerFailureInjectionRoutes, runStandalone, serveHttp, startServiceRuntime } from '@orderflow/platform';
import { releaseStock } from './handlers/release-stock.ts';
import { reserveStock } from './handlers/reserve-stock.ts';
import { seedCatalog } from './handlers/restock.ts';
import { FailureInjection, registerInventoryRoutes } from './http/routes.ts';
import { type InventoryTables, inventoryMigrations } from './store/schema.ts';

export async function startInventoryService(options: ServiceOptions) {
  const { config } = options;
  const runtime = await startServiceRuntime<InventoryTables>({ service: 'inventory', migrations: inventoryMigrations, ...options });
  const { db, events } = runtime;
  const now = () => runtime.clock.now().toISOString();
  const catalog = loadCatalog(config.catalogFile);
  await db.transaction().execute(async (trx) => appendToOutbox(trx, await seedCatalog(trx, { events, now }, catalog.products, catalog.currency)));
  runtime.relay.wake();
  const failures = await openSettingsStore(db, 'failure-injection', FailureInjection, { failOnInjectedSku: true });

  const reserve = reserveStock({ events, now, failOnInjectedSku: () => failures.current().failOnInjectedSku });
  const release = releaseStock({ events, now });
  await runtime.consume(
    'inventory',
    config.sagaMode === 'choreography'
      ? { OrderCreated: reserve, PaymentFailed: release, ShipmentFailed: release, OrderCancelled: release }
      : { ReserveInventory: reserve, ReleaseInventory: release },
  );

  return serveHttp(runtime, { description: 'Reserves stock all-or-nothing, releases it on compensation, restocks.', port: options.port }, (app) => {
    registerInventoryRoutes(app, { db, events, relay: runtime.relay, now });
    registerFailureInjectionRoutes(app, FailureInjection, failures, 'the FAIL product makes reservation throw');
  });
}

if (isEntryPoint(import.meta.url)) await runStandalone(startInventoryService);
