import { z } from 'zod';

/** Services and the environment variables (document 001's names) that set their ports. */
export const SERVICE_PORTS = {
  order: { variable: 'ORDER_SERVICE_PORT', port: 8080 },
  inventory: { variable: 'INVENTORY_SERVICE_PORT', port: 8081 },
  payment: { variable: 'PAYMENT_SERVICE_PORT', port: 8082 },
  notification: { variable: 'NOTIFICATION_SERVICE_PORT', port: 8083 },
  shipping: { variable: 'SHIPPING_SERVICE_PORT', port: 8084 },
  status: { variable: 'STATUS_SERVICE_PORT', port: 8085 },
  orchestrator: { variable: 'ORCHESTRATOR_SERVICE_PORT', port: 8086 },
  web: { variable: 'FRONTEND_PORT', port: 3000 },
} as const;
export type ServiceName = keyof typeof SERVICE_PORTS;

const port = z.coerce.number().int().min(0).max(65535);
const rate = z.coerce.number().min(0).max(1);

const EnvSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./data'),
  CATALOG_FILE: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty', 'auto']).default('auto'),
  BUS_PARTITIONS: z.coerce.number().int().min(1).max(256).default(3),
  HANDLER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  HANDLER_RETRY_BACKOFF_MS: z.coerce.number().int().min(0).default(200),
  PAYMENT_FAILURE_RATE: rate.default(0),
  SHIPPING_FAILURE_RATE: rate.default(0.1),
  SHIPPING_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  ...Object.fromEntries(Object.values(SERVICE_PORTS).map((s) => [s.variable, port.default(s.port)])),
});

export interface Config {
  host: string;
  dataDir: string;
  catalogFile: string | undefined;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  logFormat: z.infer<typeof EnvSchema>['LOG_FORMAT'];
  partitions: number;
  retry: { maxAttempts: number; initialBackoffMs: number; maxBackoffMs: number };
  paymentFailureRate: number;
  shippingFailureRate: number;
  /** Simulated carrier latency before a shipment is decided. */
  shippingDelayMs: number;
  ports: Record<ServiceName, number>;
}

/** Reads the configuration from the environment; a bad value names its variable and rule. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data as z.infer<typeof EnvSchema> & Record<string, number>;
  return {
    host: e.HOST,
    dataDir: e.DATA_DIR,
    catalogFile: e.CATALOG_FILE,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    partitions: e.BUS_PARTITIONS,
    retry: { maxAttempts: e.HANDLER_MAX_ATTEMPTS, initialBackoffMs: e.HANDLER_RETRY_BACKOFF_MS, maxBackoffMs: 5_000 },
    paymentFailureRate: e.PAYMENT_FAILURE_RATE,
    shippingFailureRate: e.SHIPPING_FAILURE_RATE,
    shippingDelayMs: e.SHIPPING_DELAY_MS,
    ports: Object.fromEntries(
      Object.entries(SERVICE_PORTS).map(([name, s]) => [name, e[s.variable] as number]),
    ) as Record<ServiceName, number>,
  };
}
