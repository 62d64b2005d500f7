import { basename, dirname } from 'node:path';
import { SERVICE_PORTS } from './config.ts';

export interface Telemetry {
  /** Exports the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

/** `services/order/main.ts` or its bundle `service-order.mjs` (npm run start:cluster) → `orderflow-order`; anything else → `orderflow`. */
export function serviceNameOf(entry: string | undefined): string {
  if (!entry) return 'orderflow';
  const bundled = /^service-([a-z]+)\.mjs$/.exec(basename(entry))?.[1];
  if (bundled && Object.hasOwn(SERVICE_PORTS, bundled)) return `orderflow-${bundled}`;
  if (basename(dirname(dirname(entry))) !== 'services') return 'orderflow';
  return `orderflow-${basename(dirname(entry))}`;
}

/**
 * OpenTelemetry tracing, only when OTEL_EXPORTER_OTLP_ENDPOINT is set. The code creates
 * spans through @opentelemetry/api, a no-op until an SDK registers; without an endpoint
 * nothing of the SDK is even imported. With one, traces go over OTLP/HTTP to
 * `<endpoint>/v1/traces` (the exporter reads the standard OTEL_EXPORTER_OTLP_* variables),
 * the W3C propagator makes the record headers carry the active span, and only traces are
 * exported: metrics stay with Prometheus (/metrics), logs with stdout.
 */
export async function startTelemetry(
  env: Record<string, string | undefined> = process.env,
  entry: string | undefined = process.argv[1],
): Promise<Telemetry | undefined> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) return undefined;
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME wins when set (the SDK reads it); else the service this process runs.
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: serviceNameOf(entry) }),
    traceExporter: new OTLPTraceExporter(),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  let stopping: Promise<void> | undefined;
  const shutdown = () => (stopping ??= sdk.shutdown().catch(() => undefined));
  // Flush what is buffered while the service drains: runStandalone exits once it has stopped.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown());
  return { shutdown };
}
