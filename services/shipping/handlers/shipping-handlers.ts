import type { MessageOf, OrderflowMessage } from '@orderflow/contracts';
import type { EventFactory } from '@orderflow/platform';
import type { Transaction } from 'kysely';
import { type ShipmentState, decideCancellation, decideShipment } from '../domain/shipment.ts';
import type { ShippingDatabase } from '../store/schema.ts';

export interface ShippingDeps {
  events: EventFactory;
  now: () => string;
  newId: () => string;
  failureRate: () => number;
  random: () => number;
  randomHex: () => string;
}

const findShipment = (trx: Transaction<ShippingDatabase>, orderId: string) =>
  trx.selectFrom('shipments').selectAll().where('order_id', '=', orderId).executeTakeFirst();

/** PaymentCompleted or CreateShipment → one shipment per order → Shipped | ShipmentFailed. */
export const createShipment =
  (deps: ShippingDeps) =>
  async (event: MessageOf<'PaymentCompleted' | 'CreateShipment'>, trx: Transaction<ShippingDatabase>): Promise<OrderflowMessage[]> => {
    const orderId = event.orderId!;
    if (await findShipment(trx, orderId)) return [];
    // The simulated carrier call has already happened, outside this transaction (withCarrierLatency).
    const decision = decideShipment(orderId, {
      customerId: event.data.customerId,
      failureRate: deps.failureRate(),
      roll: deps.random(),
      trackingHex: deps.randomHex(),
    });
    const shipmentId = deps.newId();
    const now = deps.now();
    await trx
      .insertInto('shipments')
      .values({
        order_id: orderId,
        shipment_id: shipmentId,
        status: decision.kind === 'ship' ? 'SHIPPED' : 'FAILED',
        tracking_number: decision.kind === 'ship' ? decision.trackingNumber : null,
        carrier: decision.kind === 'ship' ? decision.carrier : null,
        reason: decision.kind === 'fail' ? decision.reason : null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return decision.kind === 'ship'
      ? [deps.events.create('Shipped', orderId, { shipmentId, trackingNumber: decision.trackingNumber, carrier: decision.carrier }, event)]
      : [deps.events.create('ShipmentFailed', orderId, { reason: decision.reason }, event)];
  };

/** OrderCancelled or CancelShipment → void a shipment that crossed the cancellation, or make sure none is made. */
export const cancelShipment =
  (deps: ShippingDeps) =>
  async (event: MessageOf<'OrderCancelled' | 'CancelShipment'>, trx: Transaction<ShippingDatabase>): Promise<OrderflowMessage[]> => {
    const orderId = event.orderId!;
    const shipment = await findShipment(trx, orderId);
    const now = deps.now();
    const reason = `ORDER_${event.data.status}`;
    switch (decideCancellation(shipment?.status as ShipmentState | undefined)) {
      case 'nothing':
        return [];
      case 'void':
        await trx.updateTable('shipments').set({ status: 'VOIDED', reason, updated_at: now }).where('order_id', '=', orderId).execute();
        return [];
      case 'block-shipment':
        await trx
          .insertInto('shipments')
          .values({ order_id: orderId, shipment_id: deps.newId(), status: 'CANCELLED_BEFORE_SHIPMENT', tracking_number: null, carrier: null, reason, created_at: now, updated_at: now })
          .execute();
        return [];
    }
  };
