import { z } from 'zod';
import { OrderLine } from './events.ts';
import { OrderStatus } from './order-status.ts';

/** The read model the status service serves over REST, WebSocket and SSE. */
export const StepName = z.enum(['created', 'inventory', 'payment', 'notification', 'shipping']);
export type StepName = z.infer<typeof StepName>;

export const StepView = z.object({
  state: z.enum(['pending', 'done', 'failed']),
  /** Event time of the event that settled the step. */
  at: z.string().nullable(),
});
export type StepView = z.infer<typeof StepView>;

export const TimelineEntry = z.object({
  eventId: z.string(),
  type: z.string(),
  occurredAt: z.string(),
  source: z.string(),
  detail: z.string().nullable(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const OrderView = z.object({
  orderId: z.string(),
  customerId: z.string().nullable(),
  status: OrderStatus,
  items: z.array(OrderLine),
  total: z.number().int(),
  currency: z.string(),
  steps: z.record(StepName, StepView),
  timeline: z.array(TimelineEntry),
  trackingNumber: z.string().nullable(),
  carrier: z.string().nullable(),
  failureReason: z.string().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
export type OrderView = z.infer<typeof OrderView>;

export const InventoryLevelView = z.object({
  productId: z.string(),
  name: z.string(),
  unitPrice: z.number().int(),
  currency: z.string(),
  available: z.number().int(),
});
export type InventoryLevelView = z.infer<typeof InventoryLevelView>;

/** The status read model's rebuild (GET /projection/rebuild): the latest generation's progress. */
export const RebuildProgress = z.object({
  generation: z.number().int(),
  /** idle: no rebuild ever ran; running; done: the rebuilt copy took over; failed. */
  state: z.enum(['idle', 'running', 'done', 'failed']),
  eventsProjected: z.number().int(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  eventsPerSecond: z.number().nullable(),
  /** Records the rebuild still has to read (0 unless running). */
  lag: z.number().int(),
  error: z.string().nullable(),
});
export type RebuildProgress = z.infer<typeof RebuildProgress>;

/** Messages on the status WebSocket (SSE uses the same payloads as named events). */
export type StatusSocketMessage =
  | { type: 'order_update'; order: OrderView }
  /** After the snapshot's order_update messages: where GET /status?before= pages back from them (null: nothing older). */
  | { type: 'snapshot'; count: number; nextCursor: string | null }
  | { type: 'error'; message: string }
  | { type: 'ping' }
  | { type: 'pong' };
