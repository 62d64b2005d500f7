import { startInventoryService } from '@orderflow/inventory';
import { startNotificationService } from '@orderflow/notification';
import { startOrchestratorService } from '@orderflow/orchestrator';
import { startOrderService } from '@orderflow/order';
import { startPaymentService } from '@orderflow/payment';
import { type Bus, type Config, type Logger, type RunningService, type ServiceName, type ServiceOptions, createBus } from '@orderflow/platform';
import { startShippingService } from '@orderflow/shipping';
import { startStatusService } from '@orderflow/status';

type Starter = (options: ServiceOptions) => Promise<RunningService>;

/** Start order matters only for a clean first start: the read side first, the entry point last. */
const ALL_SERVICES: ReadonlyArray<[ServiceName, Starter]> = [
  ['status', startStatusService],
  ['inventory', startInventoryService],
  ['payment', startPaymentService],
  ['shipping', startShippingService],
  ['notification', startNotificationService],
  ['orchestrator', startOrchestratorService],
  ['order', startOrderService],
];

/**
 * Starts the named services, in start order, on one bus; if one fails, stops those
 * already started and throws.
 */
export async function startServices(names: readonly ServiceName[], options: ServiceOptions): Promise<Record<string, RunningService>> {
  const services: Record<string, RunningService> = {};
  try {
    for (const [name, start] of ALL_SERVICES) if (names.includes(name)) services[name] = await start(options);
  } catch (error) {
    await Promise.allSettled(Object.values(services).map((s) => s.stop()));
    throw error;
  }
  return services;
}

/** The services a saga mode runs: the orchestrator only in orchestration. */
export const servicesFor = (config: Config) =>
  ALL_SERVICES.filter(([name]) => name !== 'orchestrator' || config.sagaMode === 'orchestration');

export interface RunningSystem {
  bus: Bus;
  services: Record<string, RunningService>;
  urls: Record<string, string>;
  /** Stops one service (as a crash of it would leave the others running). */
  stopService(name: ServiceName): Promise<void>;
  /** Starts a stopped service again, on the same port, data and broker. */
  startService(name: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Every service in this process, on one embedded broker: what `npm start` runs, and
 * what the end-to-end tests and the benchmark start (with ports 0 for free ports).
 */
export async function startSystem(config: Config, logger: Logger, options: { freePorts?: boolean } = {}): Promise<RunningSystem> {
  const bus = createBus(config);
  let services: Record<string, RunningService>;
  try {
    services = await startServices(
      servicesFor(config).map(([name]) => name),
      { config, bus, logger, ...(options.freePorts ? { port: 0 } : {}) },
    );
  } catch (error) {
    await bus.close();
    throw error;
  }
  const urls = Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s.url]));
  const starterOf = (name: ServiceName) => servicesFor(config).find(([n]) => n === name)![1];
  return {
    bus,
    services,
    urls,
    async stopService(name) {
      await services[name]?.stop();
      delete services[name];
    },
    async startService(name) {
      services[name] = await starterOf(name)({ config, bus, logger, port: Number(new URL(urls[name]!).port) });
    },
    async stop() {
      // The entry point first, so no new work arrives while the rest finishes theirs.
      for (const [name] of [...servicesFor(config)].reverse()) await services[name]?.stop();
      await bus.close();
    },
  };
}
