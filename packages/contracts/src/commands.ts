import { z } from 'zod';
import { FailedOrderStatus, OrderLine } from './events.ts';

const MinorUnits = z.number().int().nonnegative();
const Currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD');

/**
 * Commands of the orchestrated saga (document 004, SAGA_MODE=orchestration). The
 * orchestrator sends them on `<service>.commands`; participants answer with the same
 * fact events as in choreography. Each command's data carries what its step needs, and
 * has the same fields as the event that triggers the step in choreography, so one
 * handler serves both.
 */
export const CommandData = {
  /** Same fields as OrderCreated. */
  ReserveInventory: z.object({ customerId: z.string().min(1), items: z.array(OrderLine).min(1), total: MinorUnits, currency: Currency }),
  ReleaseInventory: z.object({ reason: z.string().min(1) }),
  /** The fields of InventoryConfirmed that payment reads. */
  ProcessPayment: z.object({ customerId: z.string().min(1), total: MinorUnits, currency: Currency }),
  RefundPayment: z.object({ reason: z.string().min(1) }),
  /** The field of PaymentCompleted that shipping reads. */
  CreateShipment: z.object({ customerId: z.string().min(1) }),
  /** Same fields as OrderCancelled: void a shipment made, or make sure none will be. */
  CancelShipment: z.object({ status: FailedOrderStatus, reason: z.string().min(1) }),
  /** The fields of PaymentCompleted that notification reads. */
  SendNotification: z.object({ customerId: z.string().min(1), amount: MinorUnits, currency: Currency }),
  /** The fields of Shipped that the order records. */
  CompleteOrder: z.object({ trackingNumber: z.string(), carrier: z.string() }),
  CancelOrder: z.object({ status: FailedOrderStatus, reason: z.string().min(1) }),
} as const;

export type CommandType = keyof typeof CommandData;

/** Topic of each command: `<participant>.commands`. */
export const COMMAND_TOPIC: Record<CommandType, string> = {
  ReserveInventory: 'inventory.commands',
  ReleaseInventory: 'inventory.commands',
  ProcessPayment: 'payment.commands',
  RefundPayment: 'payment.commands',
  CreateShipment: 'shipping.commands',
  CancelShipment: 'shipping.commands',
  SendNotification: 'notification.commands',
  CompleteOrder: 'orders.commands',
  CancelOrder: 'orders.commands',
};

export const COMMAND_TOPICS: readonly string[] = [...new Set(Object.values(COMMAND_TOPIC))];
