import { expect } from 'vitest';
import { describeOutage } from './outage-scenario.ts';

// Issue 10: the Kafka broker (a clean shutdown, then a start on the same data) while orders flow.
describeOutage(
  {
    server: 'Kafka',
    restarted: (s) => s.broker,
    meanwhile: "orders keep being accepted: they wait in each service's outbox",
    expectMeanwhile: (stream, acceptedBeforeOutage) => expect(stream.accepted.size).toBeGreaterThan(acceptedBeforeOutage),
  },
  { broker: 'kafka' },
);
