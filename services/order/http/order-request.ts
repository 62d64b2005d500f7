import { ClientId } from '@orderflow/contracts';
import { z } from 'zod';
import type { OrderRequest } from '../domain/place-order.ts';

const positiveInt = z.number({ error: 'must be a number' }).int('must be a whole number').positive('must be at least 1');
const id = z.union([ClientId, z.number().int().nonnegative()]);

const Line = z
  .object({
    productId: id.optional(),
    /** document 002 */
    sku: id.optional(),
    quantity: positiveInt.optional(),
    /** document 002 */
    qty: positiveInt.optional(),
    /** documents 003 and 004: the client's idea of the unit price, in minor units */
    price: z.number().int('must be a whole number of minor units').nonnegative().optional(),
  })
  .superRefine((line, ctx) => {
    if (line.productId === undefined && line.sku === undefined) ctx.addIssue({ code: 'custom', path: ['productId'], message: 'is required (or sku)' });
    if (line.quantity === undefined && line.qty === undefined) ctx.addIssue({ code: 'custom', path: ['quantity'], message: 'is required (or qty)' });
  });

/**
 * One body schema for every request shape the source documents use:
 * `{customerId, items:[{productId, quantity}], currency?}` (ours),
 * `{userId, items:[{sku, qty}]}` (002), `{userId, items:[{productId, quantity, price}]}` (003),
 * `{userId, productId, quantity, price}` (004).
 */
export const OrderRequestBody = z
  .object({
    customerId: id.optional(),
    userId: id.optional(),
    items: z.array(Line).min(1, 'must have at least one item').max(100, 'at most 100 items').optional(),
    productId: id.optional(),
    quantity: positiveInt.optional(),
    price: z.number().int('must be a whole number of minor units').nonnegative().optional(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD').optional(),
  })
  .superRefine((body, ctx) => {
    if (body.customerId === undefined && body.userId === undefined) ctx.addIssue({ code: 'custom', path: ['customerId'], message: 'is required (or userId)' });
    if (body.items === undefined && body.productId === undefined) ctx.addIssue({ code: 'custom', path: ['items'], message: 'is required' });
    if (body.items === undefined && body.productId !== undefined && body.quantity === undefined) {
      ctx.addIssue({ code: 'custom', path: ['quantity'], message: 'is required with productId' });
    }
  });
export type OrderRequestBody = z.infer<typeof OrderRequestBody>;

/** Maps a validated body of any accepted shape to the one request the domain prices. */
export function toOrderRequest(body: OrderRequestBody): OrderRequest {
  const customerId = String(body.customerId ?? body.userId);
  const items = body.items
    ? body.items.map((line, i) => ({
        productId: String(line.productId ?? line.sku),
        quantity: (line.quantity ?? line.qty)!,
        clientPrice: line.price,
        field: `body.items.${i}`,
      }))
    : [{ productId: String(body.productId), quantity: body.quantity!, clientPrice: body.price, field: 'body' }];
  return { customerId, items, currency: body.currency };
}
