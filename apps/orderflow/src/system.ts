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

export interface SystemOptions {
  /** Ports 0: each service on a free port (tests, the benchmark). */
  freePorts?: boolean;
  /** The services to run here; default every service of the saga mode. */
  only?: readonly ServiceName[];
  /** The bus to run them on; default a new one from the configuration. stop() closes it. */
  bus?: Bus;
}

/**
 * Services in this process on one bus, by default all of them on the embedded broker:
 * what `npm start` runs (a thread's share of them, with THREAD_SERVICES), and what the
 * end-to-end tests and the benchmark start.
 */
export async function startSystem(config: Config, logger: Logger, options: SystemOptions = {}): Promise<RunningSystem> {
  const bus = options.bus ?? createBus(config);
  const starters = servicesFor(config).filter(([name]) => !options.only || options.only.includes(name));
  const services: Record<string, RunningService> = {};
  try {
    for (const [name, start] of starters) services[name] = await start({ config, bus, logger, ...(options.freePorts ? { port: 0 } : {}) });
  } catch (error) {
    await Promise.allSettled(Object.values(services).map((s) => s.stop()));
    await bus.close();
    throw error;
  }
  const urls = Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s.url]));
  const starterOf = (name: ServiceName) => starters.find(([n]) => n === name)![1];
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
      for (const [name] of [...starters].reverse()) await services[name]?.stop();
      await bus.close();
    },
  };
}
