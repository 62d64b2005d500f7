import type { MessageOf, OrderflowMessage } from '@orderflow/contracts';
import type { EventFactory } from '@orderflow/platform';
import type { Transaction } from 'kysely';
import { type PaymentState, decideCharge, decideCompensation } from '../domain/payment.ts';
import type { PaymentDatabase } from '../store/schema.ts';

export interface PaymentDeps {
  events: EventFactory;
  now: () => string;
  newId: () => string;
  failureRate: () => number;
  random: () => number;
}

const findPayment = (trx: Transaction<PaymentDatabase>, orderId: string) =>
  trx.selectFrom('payments').selectAll().where('order_id', '=', orderId).executeTakeFirst();

/** InventoryConfirmed or ProcessPayment → charge once per order → PaymentCompleted | PaymentFailed. */
export const chargePayment =
  (deps: PaymentDeps) =>
  async (event: MessageOf<'InventoryConfirmed' | 'ProcessPayment'>, trx: Transaction<PaymentDatabase>): Promise<OrderflowMessage[]> => {
    const orderId = event.orderId!;
    // Any row means charged, declined, or cancelled before the charge: never charge twice.
    if (await findPayment(trx, orderId)) return [];
    const { customerId, total: amount, currency } = event.data;
    const decision = decideCharge({ customerId, amount }, deps.failureRate(), deps.random());
    const paymentId = deps.newId();
    const now = deps.now();
    const status: PaymentState = decision.kind === 'charge' ? 'COMPLETED' : 'FAILED';
    const reason = decision.kind === 'decline' ? decision.reason : null;
    await trx
      .insertInto('payments')
      .values({ order_id: orderId, payment_id: paymentId, customer_id: customerId, amount, currency, status, reason, created_at: now, updated_at: now })
      .execute();
    return decision.kind === 'charge'
      ? [deps.events.create('PaymentCompleted', orderId, { paymentId, customerId, amount, currency }, event)]
      : [deps.events.create('PaymentFailed', orderId, { reason: decision.reason, amount, currency }, event)];
  };

/** ShipmentFailed, OrderCancelled or RefundPayment → refund a charge, or block one still to come. */
export const refundPayment =
  (deps: PaymentDeps) =>
  async (event: MessageOf<'ShipmentFailed' | 'OrderCancelled' | 'RefundPayment'>, trx: Transaction<PaymentDatabase>): Promise<OrderflowMessage[]> => {
    const orderId = event.orderId!;
    const payment = await findPayment(trx, orderId);
    const now = deps.now();
    const reason = event.type === 'ShipmentFailed' ? 'SHIPMENT_FAILED' : event.type === 'RefundPayment' ? event.data.reason : `ORDER_${event.data.status}`;
    switch (decideCompensation(payment?.status as PaymentState | undefined)) {
      case 'nothing':
        return [];
      case 'block-charge':
        await trx
          .insertInto('payments')
          .values({ order_id: orderId, payment_id: deps.newId(), customer_id: '', amount: 0, currency: 'USD', status: 'CANCELLED_BEFORE_CHARGE', reason, created_at: now, updated_at: now })
          .execute();
        return [];
      case 'refund': {
        // Compare and set: ShipmentFailed and OrderCancelled can be handled at the same time;
        // only the one whose update still finds the charge COMPLETED refunds it.
        const refunded = await trx
          .updateTable('payments')
          .set({ status: 'REFUNDED', reason, updated_at: now })
          .where('order_id', '=', orderId)
          .where('status', '=', 'COMPLETED')
          .executeTakeFirst();
        if (Number(refunded.numUpdatedRows) === 0) return [];
        const { payment_id: paymentId, amount, currency } = payment!;
        return [deps.events.create('PaymentRefunded', orderId, { paymentId, amount: Number(amount), currency, reason }, event)];
      }
    }
  };
