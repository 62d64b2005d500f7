import { OrderStatus } from '@orderflow/contracts';
import type { OrderStatus as OrderStatusType } from '@orderflow/contracts';
import type { QueryCreator } from 'kysely';
import type { Order } from '../domain/order.ts';
import type { OrderDatabase } from './schema.ts';

/** A database or an open transaction: the same queries run in both. */
type Db = QueryCreator<OrderDatabase>;

export async function loadOrder(db: Db, orderId: string): Promise<(Order & { createdAt: string; updatedAt: string }) | undefined> {
  const row = await db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirst();
  if (!row) return undefined;
  const items = await db.selectFrom('order_items').selectAll().where('order_id', '=', orderId).orderBy('line_no').execute();
  return {
    orderId: row.order_id,
    customerId: row.customer_id,
    status: OrderStatus.parse(row.status),
    items: items.map((i) => ({ productId: i.product_id, quantity: i.quantity, unitPrice: Number(i.unit_price) })),
    total: Number(row.total),
    currency: row.currency,
    trackingNumber: row.tracking_number,
    carrier: row.carrier,
    failureReason: row.failure_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertOrder(db: Db, order: Order, now: string): Promise<void> {
  await db
    .insertInto('orders')
    .values({
      order_id: order.orderId,
      customer_id: order.customerId,
      status: order.status,
      currency: order.currency,
      total: order.total,
      tracking_number: null,
      carrier: null,
      failure_reason: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .insertInto('order_items')
    .values(order.items.map((item, i) => ({ order_id: order.orderId, line_no: i + 1, product_id: item.productId, quantity: item.quantity, unit_price: item.unitPrice })))
    .execute();
}

/**
 * Saves what an order decision may change, if the order still has the status the
 * decision was made from. Otherwise (two replicas deciding at once on PostgreSQL) it
 * throws: the transaction rolls back and the message is retried on fresh state.
 */
export async function updateOrder(db: Db, order: Order, decidedFrom: OrderStatusType, now: string): Promise<void> {
  const result = await db
    .updateTable('orders')
    .set({ status: order.status, tracking_number: order.trackingNumber, carrier: order.carrier, failure_reason: order.failureReason, updated_at: now })
    .where('order_id', '=', order.orderId)
    .where('status', '=', decidedFrom)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) throw new StaleOrderError(order.orderId);
}

/** The order changed between reading it and saving a decision made from it: decide again on fresh state. */
export class StaleOrderError extends Error {
  override readonly name = 'StaleOrderError';
  constructor(orderId: string) {
    super(`order ${orderId} changed while it was being decided; retrying`);
  }
}
