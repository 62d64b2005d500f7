import { randomUUID } from 'node:crypto';
import type { Catalog, OrderStatus, OrderflowMessage } from '@orderflow/contracts';
import { type BusMessage, type EventFactory, createEventFactory, toBusMessage } from '@orderflow/platform';

/**
 * Past orders as the services would have logged them (choreography), for the history
 * benchmark: each order's events in the order the services emit them, built with the
 * platform's event factory and record format (envelope, key, headers) and checked against
 * the contracts' schemas before they are written. What the services would have written
 * to their own tables is not made: see the README's history benchmark.
 */

export type HistoryOutcome = Extract<OrderStatus, 'COMPLETED' | 'PAYMENT_FAILED' | 'CANCELLED_NO_STOCK'>;

/** Of every 20 orders, one is declined by the card (5%), one finds no stock (5%) and the rest complete. */
export function outcomeOf(index: number): HistoryOutcome {
  const slot = index % 20;
  return slot === 7 ? 'PAYMENT_FAILED' : slot === 13 ? 'CANCELLED_NO_STOCK' : 'COMPLETED';
}

/** The products history orders buy (and one, prod001, whose 10 units an order of 20 exceeds). */
const BOUGHT = ['product-1', 'product-2', 'product-3'] as const;
const SCARCE = { productId: 'prod001', requested: 20, available: 10 } as const;
/** Stock given to each bought product by one restock before the history, so that no level goes below zero. */
const HISTORY_STOCK = 2_000_000_000;
const DECLINED_REASON = 'CARD_DECLINED: test trigger in customer id';
const CARRIERS = ['DHL', 'UPS', 'FedEx'] as const;

export interface HistoryOrder {
  orderId: string;
  outcome: HistoryOutcome;
  messages: BusMessage[];
}

export interface HistoryWriter {
  /** The restocks that precede the history (one per bought product), as the inventory service emits them. */
  restocks(): BusMessage[];
  /** Order `index` of the history, created at `createdAt`, with its events a few milliseconds apart. */
  order(index: number, createdAt: Date): HistoryOrder;
}

export function historyWriter(catalog: Catalog): HistoryWriter {
  let now = new Date();
  const clock = { now: () => now };
  const factories: Record<string, EventFactory> = {};
  const from = (service: string) => (factories[service] ??= createEventFactory(service, clock));
  const product = (productId: string) => {
    const found = catalog.products.find((p) => p.productId === productId);
    if (!found) throw new Error(`catalog has no ${productId}, which the history orders buy`);
    return found;
  };
  const available = new Map<string, number>(BOUGHT.map((id) => [id, HISTORY_STOCK]));
  const hex8 = () => randomUUID().replaceAll('-', '').slice(0, 8).toUpperCase();

  return {
    restocks() {
      return BOUGHT.map((productId) => {
        const { name, unitPrice } = product(productId);
        const event = from('inventory').create('InventoryRestocked', null, { productId, name, unitPrice, currency: catalog.currency, quantity: HISTORY_STOCK, available: HISTORY_STOCK });
        return toBusMessage(event, undefined);
      });
    },
    order(index, createdAt) {
      now = createdAt;
      const later = () => (now = new Date(now.getTime() + 3));
      const outcome = outcomeOf(index);
      const orderId = randomUUID();
      const customerId = outcome === 'PAYMENT_FAILED' ? `history-decline-payment-${index % 50}` : `history-${index % 1000}`;
      const line =
        outcome === 'CANCELLED_NO_STOCK'
          ? { productId: SCARCE.productId, quantity: SCARCE.requested, unitPrice: product(SCARCE.productId).unitPrice }
          : { productId: BOUGHT[index % BOUGHT.length]!, quantity: 1 + (index % 3), unitPrice: product(BOUGHT[index % BOUGHT.length]!).unitPrice };
      const order = { customerId, items: [line], total: line.quantity * line.unitPrice, currency: catalog.currency };
      const events: OrderflowMessage[] = [];
      const emit = <M extends OrderflowMessage>(event: M): M => {
        events.push(event);
        later();
        return event;
      };
      const level = (change: number) => {
        const after = available.get(line.productId)! + change;
        available.set(line.productId, after);
        return [{ productId: line.productId, available: after }];
      };

      const created = emit(from('order').create('OrderCreated', orderId, order));
      if (outcome === 'CANCELLED_NO_STOCK') {
        const rejected = emit(
          from('inventory').create('InventoryRejected', orderId, { reason: 'OUT_OF_STOCK', productId: line.productId, requested: line.quantity, available: SCARCE.available }, created),
        );
        const reason = `OUT_OF_STOCK: ${line.productId} requested ${line.quantity}, available ${SCARCE.available}`;
        emit(from('order').create('OrderCancelled', orderId, { status: 'CANCELLED_NO_STOCK', reason }, rejected));
      } else {
        const confirmed = emit(from('inventory').create('InventoryConfirmed', orderId, { ...order, levels: level(-line.quantity) }, created));
        if (outcome === 'PAYMENT_FAILED') {
          const failed = emit(from('payment').create('PaymentFailed', orderId, { reason: DECLINED_REASON, amount: order.total, currency: order.currency }, confirmed));
          const stock = [{ productId: line.productId, quantity: line.quantity }];
          emit(from('inventory').create('InventoryReleased', orderId, { reason: 'PAYMENT_FAILED', items: stock, levels: level(line.quantity) }, failed));
          emit(from('order').create('OrderCancelled', orderId, { status: 'PAYMENT_FAILED', reason: DECLINED_REASON }, failed));
        } else {
          const paid = emit(
            from('payment').create('PaymentCompleted', orderId, { paymentId: randomUUID(), customerId, amount: order.total, currency: order.currency }, confirmed),
          );
          const carrier = CARRIERS[index % CARRIERS.length]!;
          const shipped = emit(from('shipping').create('Shipped', orderId, { shipmentId: randomUUID(), trackingNumber: `TRK${hex8()}`, carrier }, paid));
          emit(from('notification').create('NotificationSent', orderId, { notificationId: randomUUID(), customerId, channel: 'email', template: 'ORDER_CONFIRMED' }, paid));
          emit(from('order').create('OrderCompleted', orderId, { trackingNumber: shipped.data.trackingNumber, carrier }, shipped));
        }
      }
      // One trace per order, as a request's trace runs through every service's event.
      let traceparent: string | undefined;
      const messages = events.map((event) => {
        const message = toBusMessage(event, traceparent);
        traceparent ??= message.headers.traceparent;
        return message;
      });
      return { orderId, outcome, messages };
    },
  };
}
