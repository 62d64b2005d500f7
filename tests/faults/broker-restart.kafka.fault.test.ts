import { expect } from 'vitest';
import { describeOutage } from './outage-scenario.ts';

// Issue 10: the Kafka broker (a clean shutdown, then a start on the same data) while orders flow.
describeOutage(
  {
    server: 'Kafka',
    restarted: (s) => s.broker,
    meanwhile: "orders keep being accepted: they wait in each service's outbox",
    expectMeanwhile: (stream, acceptedBeforeOutage) => expect(stream.accepted.size).toBeGreaterThan(acceptedBeforeOutage),
    // Fewer than NATS's 20/s: the backlog a Kafka restart leaves takes longer to drain on 2 cores, and CI pays for it.
    ratePerSecond: 12,
  },
  { broker: 'kafka' },
);
