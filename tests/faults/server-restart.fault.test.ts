import { expect } from 'vitest';
import { describeOutage } from './outage-scenario.ts';

describeOutage({
  server: 'NATS',
  restarted: (s) => s.broker,
  meanwhile: "orders keep being accepted: they wait in each service's outbox",
  expectMeanwhile: (stream, acceptedBeforeOutage) => expect(stream.accepted.size).toBeGreaterThan(acceptedBeforeOutage + 40),
});

describeOutage({
  // A fast shutdown: open connections and transactions in flight are cut, as in a failover.
  server: 'PostgreSQL',
  restarted: (s) => s.postgres,
  meanwhile: 'new orders are refused (503/500); the client sends them again with the same Idempotency-Key',
  expectMeanwhile: (stream) => expect(stream.retried()).toBeGreaterThan(0),
});
