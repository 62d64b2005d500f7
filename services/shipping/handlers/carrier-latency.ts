import { setTimeout as sleep } from 'node:timers/promises';
import { Header, type MessageType } from '@orderflow/contracts';
import { type Bus, type BusRecord, wrapHandlers } from '@orderflow/platform';

/** The messages that make a shipment, and so call the carrier. */
const CALLS_THE_CARRIER: ReadonlySet<string> = new Set<MessageType>(['PaymentCompleted', 'CreateShipment']);

/**
 * The simulated carrier call (SHIPPING_DELAY_MS), made before the consumer opens the
 * handler's transaction. Waiting inside it would hold a pooled connection, the inbox
 * row's lock and an open transaction for the whole call, and every other transaction
 * of the service would queue behind it at its outbox insert (the commit-order lock).
 *
 * Idempotency is unchanged: the shipment is decided and written in the transaction,
 * with the inbox row, after the wait. A redelivered record waits (calls the carrier)
 * again but changes nothing; a real carrier call made before the commit is likewise at
 * least once, so it would pass the order id as the carrier's idempotency key. The wait
 * sits in the record's delivery, so the partition's later records (a cancellation of the
 * same order) still come after it, as they did when the wait was in the transaction.
 * A batch calls the carrier for each of its shipments at once (they are different
 * orders' calls, independent of each other), so it waits one delay, then opens its transaction.
 */
const callsTheCarrier = (record: BusRecord) => {
  const type = record.headers[Header.eventType];
  return type !== undefined && CALLS_THE_CARRIER.has(type);
};

export function withCarrierLatency(bus: Bus, delayMs: number): Bus {
  if (delayMs === 0) return bus;
  return wrapHandlers(bus, {
    handle: (handle) => async (record) => {
      if (callsTheCarrier(record)) await sleep(delayMs);
      await handle(record);
    },
    handleBatch: (handleBatch) => async (records) => {
      if (records.some(callsTheCarrier)) await sleep(delayMs);
      return handleBatch(records);
    },
  });
}
