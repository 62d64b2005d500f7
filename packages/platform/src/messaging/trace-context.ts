import { randomUUID } from 'node:crypto';
import { type Context, ROOT_CONTEXT, type Span, SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { Header } from '@orderflow/contracts';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export const traceIdOf = (traceparent: string | undefined): string | undefined => traceparent?.match(TRACEPARENT)?.[1];

/**
 * The W3C traceparent to put on an outgoing record. With an OpenTelemetry SDK
 * registered, the active span's context; without one (the default: the API is a
 * no-op), a child of the incoming traceparent made here, so records still carry one
 * trace id per order across every service.
 */
export function outgoingTraceparent(parent: string | undefined): string {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (carrier.traceparent) return carrier.traceparent;
  const traceId = traceIdOf(parent) ?? randomHex(32);
  return `00-${traceId}-${randomHex(16)}-01`;
}

/**
 * Random lowercase hex from randomUUID, which draws from a cached entropy pool: one
 * randomBytes call per id made a system call per outgoing record. A v4 UUID has 122
 * random bits; its fixed version and variant digits are skipped here.
 */
function randomHex(length: 16 | 32): string {
  const a = randomUUID().replaceAll('-', '');
  if (length === 16) return a.slice(0, 12) + a.slice(13, 16) + a.slice(17, 18);
  const b = randomUUID().replaceAll('-', '');
  return a.slice(0, 12) + a.slice(13, 16) + a.slice(17) + b.slice(0, 2);
}

/** Runs fn inside a span whose parent is the record's traceparent. */
export function withSpan<T>(
  service: string,
  name: string,
  headers: Record<string, string> | undefined,
  kind: 'consumer' | 'server',
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent: Context = headers ? propagation.extract(ROOT_CONTEXT, headers) : context.active();
  const tracer = trace.getTracer(service);
  return context.with(parent, () =>
    tracer.startActiveSpan(name, { kind: kind === 'consumer' ? SpanKind.CONSUMER : SpanKind.SERVER }, async (span) => {
      try {
        return await fn(span);
      } finally {
        span.end();
      }
    }),
  );
}

export const TRACEPARENT_HEADER = Header.traceparent;
