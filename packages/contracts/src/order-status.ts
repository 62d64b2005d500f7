import { z } from 'zod';

/** Every status an order can have. The last five are terminal. */
export const OrderStatus = z.enum([
  'PENDING',
  'INVENTORY_CONFIRMED',
  'PAID',
  'COMPLETED',
  'CANCELLED_NO_STOCK',
  'PAYMENT_FAILED',
  'SHIPMENT_FAILED',
  'CANCELLED',
]);
export type OrderStatus = z.infer<typeof OrderStatus>;

export const TERMINAL_STATUSES: readonly OrderStatus[] = [
  'COMPLETED',
  'CANCELLED_NO_STOCK',
  'PAYMENT_FAILED',
  'SHIPMENT_FAILED',
  'CANCELLED',
];

const RANK: Record<OrderStatus, number> = {
  PENDING: 0,
  INVENTORY_CONFIRMED: 1,
  PAID: 2,
  COMPLETED: 3,
  CANCELLED_NO_STOCK: 3,
  PAYMENT_FAILED: 3,
  SHIPMENT_FAILED: 3,
  CANCELLED: 3,
};

export const isTerminal = (status: OrderStatus): boolean => RANK[status] === 3;

/**
 * Events of one order arrive on different topics, so a consumer may see them out of
 * causal order (PaymentCompleted before InventoryConfirmed). Status only ever moves
 * forward: a late or duplicate event never takes an order back, and a terminal
 * status is final. Both the order service and the status read model use this rule.
 */
export function advanceStatus(current: OrderStatus, target: OrderStatus): OrderStatus {
  if (isTerminal(current)) return current;
  return RANK[target] > RANK[current] ? target : current;
}
