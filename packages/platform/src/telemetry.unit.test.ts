import { describe, expect, it } from 'vitest';
import { serviceNameOf, startTelemetry } from './telemetry.ts';

describe('telemetry', () => {
  it('given no OTLP endpoint, when starting, then nothing is started (the SDK is not even loaded)', async () => {
    expect(await startTelemetry({}, '/app/services/order/main.ts')).toBeUndefined();
    expect(await startTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, '/app/services/order/main.ts')).toBeUndefined();
  });

  it('given the entry point of a service, when naming the traces, then they carry the service', () => {
    expect(serviceNameOf('/app/services/order/main.ts')).toBe('orderflow-order');
    expect(serviceNameOf('services/status/main.ts')).toBe('orderflow-status');
    expect(serviceNameOf('/work/apps/orderflow/dist/service-payment.mjs')).toBe('orderflow-payment');
    expect(serviceNameOf('/work/apps/orderflow/dist/service-thread.mjs')).toBe('orderflow');
    expect(serviceNameOf('/work/apps/orderflow/src/start.ts')).toBe('orderflow');
    expect(serviceNameOf(undefined)).toBe('orderflow');
  });
});
