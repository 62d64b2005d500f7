import { randomUUID } from 'node:crypto';
import { EVENT_VERSION, Header, MESSAGE_TOPIC, type MessageDataOf, type MessageOf, type MessageType, type OrderflowMessage } from '@orderflow/contracts';
import type { BusMessage } from '../bus/bus.ts';
import { outgoingTraceparent } from './trace-context.ts';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/** What caused an event: the incoming event, or nothing for a new request. */
export interface Cause {
  id: string;
  correlationId: string;
}

/**
 * Builds message envelopes (events and commands): ids and event time come from here,
 * never from the domain, which stays a pure function of its inputs.
 */
export interface EventFactory {
  create<T extends MessageType>(type: T, orderId: string | null, data: MessageDataOf<T>, cause?: Cause): MessageOf<T>;
}

export function createEventFactory(source: string, clock: Clock = systemClock, newId: () => string = randomUUID): EventFactory {
  return {
    create(type, orderId, data, cause) {
      const id = newId();
      return {
        id,
        type,
        version: EVENT_VERSION,
        orderId,
        occurredAt: clock.now().toISOString(),
        source,
        correlationId: cause?.correlationId ?? orderId ?? id,
        causationId: cause?.id ?? null,
        data,
      } as unknown as MessageOf<typeof type>;
    },
  };
}

/** Record key: the order id, so one order's events keep their order; a restock is keyed by product. */
export const recordKey = (event: OrderflowMessage): string =>
  event.type === 'InventoryRestocked' ? event.data.productId : (event.orderId ?? event.id);

export function toBusMessage(event: OrderflowMessage, parentTraceparent: string | undefined): BusMessage {
  return {
    topic: MESSAGE_TOPIC[event.type],
    key: recordKey(event),
    value: JSON.stringify(event),
    headers: {
      [Header.eventType]: event.type,
      [Header.eventVersion]: String(event.version),
      [Header.producer]: event.source,
      [Header.timestamp]: event.occurredAt,
      [Header.traceparent]: outgoingTraceparent(parentTraceparent),
    },
  };
}
