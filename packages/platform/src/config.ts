import { SERVICE_PORTS, type ServiceName } from '@orderflow/contracts/services';
import { z } from 'zod';

export { SERVICE_PORTS, type ServiceName };

const port = z.coerce.number().int().min(0).max(65535);
const rate = z.coerce.number().min(0).max(1);
/** An empty variable counts as unset (compose files and manifests often pass VAR=). */
const unsetIfBlank = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema);
const brokerList = unsetIfBlank(
  z
    .string()
    .transform((v) => v.replace(/\s+/g, ''))
    .pipe(z.string().regex(/^[^,:]+:\d+(,[^,:]+:\d+)*$/, 'must be a comma-separated list of host:port'))
    .optional(),
);

const DURATION_UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const HOUR_MS = 3_600_000;
const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const DURATION_RULE = 'must be a duration: a whole number and a unit (ms, s, m, h, d), e.g. 7d or 36h';
/** A duration such as 7d, 36h, 90m or 500ms, in milliseconds. */
const durationMs = z
  .string()
  .trim()
  .regex(DURATION, DURATION_RULE)
  .transform((v) => {
    const [, amount, unit] = DURATION.exec(v) ?? [];
    return Number(amount) * (DURATION_UNIT_MS[unit ?? ''] ?? Number.NaN);
  });
/** `forever` (keep everything) or a duration; undefined stands for forever. */
const retentionMs = z
  .string()
  .trim()
  .transform((v, ctx) => {
    if (v === 'forever') return undefined;
    const parsed = durationMs.safeParse(v);
    if (parsed.success && parsed.data > 0) return parsed.data;
    ctx.addIssue({ code: 'custom', message: `must be forever or a duration above zero: a whole number and a unit (ms, s, m, h, d), e.g. 30d` });
    return z.NEVER;
  });
/** The shortest INBOX_RETENTION: live redeliveries come within seconds, and an hour leaves room for a slow catch-up. */
const MIN_INBOX_RETENTION_MS = HOUR_MS;

const EnvSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./data'),
  CATALOG_FILE: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty', 'auto']).default('auto'),
  BUS_PARTITIONS: z.coerce.number().int().min(1).max(256).default(3),
  BUS_BATCH_MAX: z.coerce.number().int().min(1).max(10_000).default(100),
  HANDLER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  HANDLER_RETRY_BACKOFF_MS: z.coerce.number().int().min(0).default(200),
  PAYMENT_FAILURE_RATE: rate.default(0),
  SHIPPING_FAILURE_RATE: rate.default(0.1),
  SAGA_MODE: z.enum(['choreography', 'orchestration']).default('choreography'),
  SAGA_STEP_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  SAGA_STEP_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  SHIPPING_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  // Retention (README "Retention"): how long an inbox row (and a resolved dead letter) is kept, and the broker's log.
  INBOX_RETENTION: unsetIfBlank(durationMs.pipe(z.number().min(MIN_INBOX_RETENTION_MS, 'must be at least 1h: a redelivery can come that late')).default(7 * 24 * HOUR_MS)),
  BROKER_RETENTION: unsetIfBlank(retentionMs.optional()),
  // PostgreSQL instead of the embedded SQLite databases; an empty value means unset.
  DATABASE_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
  ),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1_000).default(10),
  // The broker: BUS names it, else Kafka when KAFKA_BROKERS (or document 001's KAFKA_BROKER)
  // is set, else NATS JetStream when NATS_URL is set, else the embedded broker.
  BUS: unsetIfBlank(z.enum(['embedded', 'kafka', 'nats']).optional()),
  KAFKA_BROKERS: brokerList,
  KAFKA_BROKER: brokerList,
  KAFKA_CLIENT_ID: z.string().min(1).default('orderflow'),
  // Put before every topic and consumer-group name: test and benchmark runs share a broker with a live system.
  KAFKA_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'must be letters, digits, ., _ or -').default(''),
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(32).default(1),
  KAFKA_SSL: z.enum(['true', 'false']).default('false'),
  KAFKA_SASL_MECHANISM: unsetIfBlank(z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional()),
  KAFKA_SASL_USERNAME: unsetIfBlank(z.string().optional()),
  KAFKA_SASL_PASSWORD: unsetIfBlank(z.string().optional()),
  NATS_URL: unsetIfBlank(
    z.string().regex(/^(nats|tls|ws|wss):\/\/[^,\s]+(,\s*(nats|tls|ws|wss):\/\/[^,\s]+)*$/, 'must be nats://host:port (comma-separated for several)').optional(),
  ),
  NATS_STREAM_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -').default('orderflow'),
  // OpenTelemetry traces (telemetry.ts): the SDK loads only when an endpoint is set, e.g. http://otel-collector:4318.
  OTEL_EXPORTER_OTLP_ENDPOINT: unsetIfBlank(z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL').optional()),
  OTEL_SERVICE_NAME: unsetIfBlank(z.string().optional()),
  // Identity and access (packages/platform/src/auth): README "Security".
  AUTH_MODE: z.enum(['development', 'production']).default('development'),
  AUTH_ISSUER: unsetIfBlank(z.url({ protocol: /^https?$/, error: 'must be the issuer URL, http(s)://...' }).optional()),
  AUTH_AUDIENCE: unsetIfBlank(z.string().optional()),
  AUTH_JWKS_URL: unsetIfBlank(z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional()),
  AUTH_ROLES_CLAIM: z.string().min(1).default('roles'),
  AUTH_OPERATOR_ROLE: z.string().min(1).default('operator'),
  AUTH_CUSTOMER_ROLE: unsetIfBlank(z.string().optional()),
  ALLOWED_ORIGINS: unsetIfBlank(z.string().optional()),
  ALLOWED_HOSTS: unsetIfBlank(z.string().optional()),
  METRICS_ACCESS: z.enum(['public', 'operator']).default('public'),
  DOCS_ACCESS: unsetIfBlank(z.enum(['public', 'operator']).optional()),
  DEV_ISSUER_PORT: port.default(8087),
  // Limits (README "Limits and bad input"): defaults a person never reaches but a flood does.
  ORDER_RATE_LIMIT: z.coerce.number().int().min(1).default(60),
  CANCEL_RATE_LIMIT: z.coerce.number().int().min(1).default(30),
  WS_MAX_MESSAGE_BYTES: z.coerce.number().int().min(64).max(1024 * 1024).default(1024),
  LIVE_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(1_000),
  LIVE_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).default(20),
  // At least 1 MiB: the all-orders snapshot a client gets first is sent at once.
  LIVE_MAX_BUFFERED_BYTES: z.coerce.number().int().min(1024 * 1024).default(4 * 1024 * 1024),
  ...Object.fromEntries(Object.values(SERVICE_PORTS).map((s) => [s.variable, port.default(s.port)])),
});

/** Every environment variable the services read: deployment files are checked against this list. */
export const ENVIRONMENT_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);

/** choreography: participants react to each other's events; orchestration: an orchestrator sends commands (document 004). */
export type SagaMode = 'choreography' | 'orchestration';

export interface Config {
  host: string;
  dataDir: string;
  catalogFile: string | undefined;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  logFormat: z.infer<typeof EnvSchema>['LOG_FORMAT'];
  partitions: number;
  /** Most records of one partition a consumer handles in one database transaction. */
  batchMax: number;
  retry: { maxAttempts: number; initialBackoffMs: number; maxBackoffMs: number };
  paymentFailureRate: number;
  shippingFailureRate: number;
  /** Simulated carrier latency before a shipment is decided. */
  shippingDelayMs: number;
  sagaMode: SagaMode;
  /** Orchestration: how long the orchestrator waits for a step's answer before sending it again. */
  sagaStepTimeoutMs: number;
  /** Orchestration: sends of one step before the saga gives up and compensates. */
  sagaStepMaxAttempts: number;
  retention: RetentionSettings;
  /** PostgreSQL when url is set (one schema per service), else SQLite files in dataDir. */
  database: { url: string | undefined; poolSize: number };
  bus: BusSettings;
  ports: Record<ServiceName, number>;
  auth: AuthSettings;
  limits: Limits;
}

/**
 * development: anonymous requests keep the source documents' behaviour (the customer id
 * from the body; reads and cancels by order id); production: a token for everything but
 * /health and /ready. Operator routes need an operator token in both.
 */
export type AuthMode = 'development' | 'production';
export type RouteAccessSetting = 'public' | 'operator';

export interface AuthSettings {
  mode: AuthMode;
  /** The OIDC issuer whose tokens are accepted (its `iss`); undefined: no token can be verified. */
  issuer: string | undefined;
  /** Checked against the token's `aud` when set. */
  audience: string | undefined;
  /** Default: the jwks_uri of the issuer's discovery document. */
  jwksUrl: string | undefined;
  /** Where the roles are: a top-level claim (`roles`, `cognito:groups`) or a dotted path (`realm_access.roles`). */
  rolesClaim: string;
  operatorRole: string;
  /** When set, a customer's token must carry it; else any signed-in subject is a customer. */
  customerRole: string | undefined;
  /** Origins whose pages may send state-changing requests (the web UI's); the service's own is always allowed. */
  allowedOrigins: string[];
  /** Host names the services answer to ('*': any); probes (/health, /ready, /metrics) are exempt. */
  allowedHosts: string[];
  metricsAccess: RouteAccessSetting;
  docsAccess: RouteAccessSetting;
  /** Where `npm start` runs the development issuer when AUTH_ISSUER is unset. */
  devIssuerPort: number;
}

/** How long what the system has done is kept (README "Retention"). */
export interface RetentionSettings {
  /** An inbox row, after its event was handled; a dead letter, after it was replayed or discarded. */
  inboxMs: number;
  /** The broker's log: records older than this are deleted (the embedded broker), or the topics are created so; undefined: forever. */
  brokerMs: number | undefined;
}

/** What one client may ask of a service (README "Limits and bad input"). */
export interface Limits {
  /** Orders one customer may place per minute (429 with Retry-After beyond). */
  ordersPerCustomerPerMinute: number;
  /** Cancellations of one customer's orders per minute. */
  cancelsPerCustomerPerMinute: number;
  /** The largest message a WebSocket client may send (its only message is a ping). */
  webSocketMaxMessageBytes: number;
  /** Open live-update connections (WebSocket and SSE together) of the status service. */
  liveConnections: number;
  /** Of those, from one client address. */
  liveConnectionsPerIp: number;
  /** A live-update client with more than this waiting to be sent is not reading: it is dropped. */
  liveMaxBufferedBytes: number;
}

export type BusSettings =
  | { kind: 'embedded' }
  | {
      kind: 'kafka';
      brokers: string[];
      clientId: string;
      /** Before every topic and consumer-group name (KAFKA_PREFIX); empty by default. */
      prefix: string;
      replicationFactor: number;
      ssl: boolean;
      sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined;
    }
  | { kind: 'nats'; url: string; streamPrefix: string };

const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** The broker settings, or the problems that name the variables to fix. */
function busSettingsOf(e: z.infer<typeof EnvSchema>): BusSettings | string[] {
  const brokers = e.KAFKA_BROKERS ?? e.KAFKA_BROKER;
  const kind = e.BUS ?? (brokers ? 'kafka' : e.NATS_URL ? 'nats' : 'embedded');
  if (kind === 'embedded') return { kind };
  if (kind === 'nats') return { kind, url: e.NATS_URL ?? DEFAULT_NATS_URL, streamPrefix: e.NATS_STREAM_PREFIX };
  const problems: string[] = [];
  if (!brokers) problems.push('KAFKA_BROKERS: required when BUS=kafka (or set KAFKA_BROKER)');
  const mechanism = e.KAFKA_SASL_MECHANISM;
  if (mechanism && !e.KAFKA_SASL_USERNAME) problems.push(`KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM=${mechanism}`);
  if (mechanism && e.KAFKA_SASL_PASSWORD === undefined) problems.push(`KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM=${mechanism}`);
  if (!mechanism && e.KAFKA_SASL_USERNAME) problems.push('KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME is set');
  if (problems.length > 0 || !brokers) return problems;
  return {
    kind,
    brokers: brokers.split(','),
    clientId: e.KAFKA_CLIENT_ID,
    prefix: e.KAFKA_PREFIX,
    replicationFactor: e.KAFKA_REPLICATION_FACTOR,
    ssl: e.KAFKA_SSL === 'true',
    sasl: mechanism ? { mechanism, username: e.KAFKA_SASL_USERNAME ?? '', password: e.KAFKA_SASL_PASSWORD ?? '' } : undefined,
  };
}

/** Reads the configuration from the environment; a bad value names its variable and rule. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data as z.infer<typeof EnvSchema> & Record<string, number>;
  const bus = busSettingsOf(parsed.data);
  if (Array.isArray(bus)) throw new Error(`invalid configuration: ${bus.join('; ')}`);
  if (e.AUTH_MODE === 'production' && !e.AUTH_ISSUER) {
    throw new Error(
      'invalid configuration: AUTH_ISSUER: required when AUTH_MODE=production (the OIDC issuer URL whose tokens the services accept; README "Security")',
    );
  }
  const frontendPort = e[SERVICE_PORTS.web.variable] as number;
  return {
    host: e.HOST,
    dataDir: e.DATA_DIR,
    catalogFile: e.CATALOG_FILE,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    partitions: e.BUS_PARTITIONS,
    batchMax: e.BUS_BATCH_MAX,
    retry: { maxAttempts: e.HANDLER_MAX_ATTEMPTS, initialBackoffMs: e.HANDLER_RETRY_BACKOFF_MS, maxBackoffMs: 5_000 },
    paymentFailureRate: e.PAYMENT_FAILURE_RATE,
    shippingFailureRate: e.SHIPPING_FAILURE_RATE,
    shippingDelayMs: e.SHIPPING_DELAY_MS,
    sagaMode: e.SAGA_MODE,
    sagaStepTimeoutMs: e.SAGA_STEP_TIMEOUT_MS,
    sagaStepMaxAttempts: e.SAGA_STEP_MAX_ATTEMPTS,
    retention: { inboxMs: e.INBOX_RETENTION, brokerMs: e.BROKER_RETENTION },
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE },
    bus,
    limits: {
      ordersPerCustomerPerMinute: e.ORDER_RATE_LIMIT,
      cancelsPerCustomerPerMinute: e.CANCEL_RATE_LIMIT,
      webSocketMaxMessageBytes: e.WS_MAX_MESSAGE_BYTES,
      liveConnections: e.LIVE_MAX_CONNECTIONS,
      liveConnectionsPerIp: e.LIVE_MAX_CONNECTIONS_PER_IP,
      liveMaxBufferedBytes: e.LIVE_MAX_BUFFERED_BYTES,
    },
    ports: Object.fromEntries(
      Object.entries(SERVICE_PORTS).map(([name, s]) => [name, e[s.variable] as number]),
    ) as Record<ServiceName, number>,
    auth: {
      mode: e.AUTH_MODE,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      jwksUrl: e.AUTH_JWKS_URL,
      rolesClaim: e.AUTH_ROLES_CLAIM,
      operatorRole: e.AUTH_OPERATOR_ROLE,
      customerRole: e.AUTH_CUSTOMER_ROLE,
      allowedOrigins: listOf(e.ALLOWED_ORIGINS) ?? [`http://localhost:${frontendPort}`, `http://127.0.0.1:${frontendPort}`],
      allowedHosts: (listOf(e.ALLOWED_HOSTS) ?? ['localhost', '127.0.0.1', '[::1]']).map((h) => h.toLowerCase()),
      metricsAccess: e.METRICS_ACCESS,
      docsAccess: e.DOCS_ACCESS ?? (e.AUTH_MODE === 'production' ? 'operator' : 'public'),
      devIssuerPort: e.DEV_ISSUER_PORT,
    },
  };
}

const listOf = (value: string | undefined) =>
  value
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** One line for the start banner: the mode and who issues tokens. */
export function describeAuth(auth: AuthSettings): string {
  const issuer = auth.issuer ? `tokens from ${auth.issuer}` : 'no token issuer';
  const anonymous = auth.mode === 'development' ? 'anonymous orders, reads and cancels by id allowed' : 'a token for everything but /health and /ready';
  return `auth: ${auth.mode} mode (${anonymous}); ${issuer}`;
}

/** A URL fit to print: its password replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}
