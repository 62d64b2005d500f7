import type { InventoryLevelView, OrderView, StatusSocketMessage } from '@orderflow/contracts';

export type { InventoryLevelView, OrderView, StatusSocketMessage };
export type OrderStatus = OrderView['status'];
export type StepName = 'created' | 'inventory' | 'payment' | 'notification' | 'shipping';
export const STEP_NAMES: StepName[] = ['created', 'inventory', 'payment', 'notification', 'shipping'];

export const ORDER_STATUSES: OrderStatus[] = [
  'PENDING',
  'INVENTORY_CONFIRMED',
  'PAID',
  'COMPLETED',
  'CANCELLED_NO_STOCK',
  'PAYMENT_FAILED',
  'SHIPMENT_FAILED',
  'CANCELLED',
];
export const CANCELLABLE: OrderStatus[] = ['PENDING', 'INVENTORY_CONFIRMED', 'PAID'];
export const FAILED: OrderStatus[] = ['CANCELLED_NO_STOCK', 'PAYMENT_FAILED', 'SHIPMENT_FAILED', 'CANCELLED'];
export const IN_PROGRESS: OrderStatus[] = ['PENDING', 'INVENTORY_CONFIRMED', 'PAID'];

export interface Product {
  productId: string;
  name: string;
  unitPrice: number;
  currency: string;
  available: number;
}

export interface OrderStats {
  countsByStatus: Record<OrderStatus, number>;
  ordersPerMinute: { minute: string; count: number }[];
  revenue: { currency: string; amount: number }[];
  totalOrders: number;
}

export interface DeadLetter {
  id: number;
  consumerGroup: string;
  topic: string;
  partition: number;
  offset: string;
  key: string;
  eventType: string | null;
  error: string;
  attempts: number;
  failedAt: string;
  replayedAt: string | null;
  discardedAt: string | null;
}

export interface ApiIssue {
  field: string;
  rule: string;
  message: string;
}
export interface ApiErrorBody {
  error: string;
  message: string;
  issues?: ApiIssue[];
}
