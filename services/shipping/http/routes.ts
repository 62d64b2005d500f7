import { ApiError, ErrorBody, type HttpApp } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { ShippingDatabase } from '../store/schema.ts';

export const ShippingFailureInjection = z.object({
  /** Share of shipments that fail at random, 0 to 1 (default 0.1, document 003). */
  failureRate: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
});

const Shipment = z.object({
  orderId: z.string(),
  shipmentId: z.string(),
  status: z.string(),
  trackingNumber: z.string().nullable(),
  carrier: z.string().nullable(),
  reason: z.string().nullable(),
  updatedAt: z.string(),
});

export function registerShippingRoutes(app: HttpApp, deps: { db: Kysely<ShippingDatabase> }) {
  app.get(
    '/shipments/:orderId',
    // Operators only: shipping keeps no customer id to check ownership by; a customer finds
    // the tracking number on their order (order and status services).
    { config: { access: 'operator' }, schema: { tags: ['shipping'], summary: "An order's shipment (operators)", params: z.object({ orderId: z.string().min(1) }), response: { 200: Shipment, 404: ErrorBody } } },
    async (request) => {
      const row = await deps.db.selectFrom('shipments').selectAll().where('order_id', '=', request.params.orderId).executeTakeFirst();
      if (!row) throw new ApiError(404, 'NOT_FOUND', `orderId: no shipment for order ${request.params.orderId}`);
      return {
        orderId: row.order_id,
        shipmentId: row.shipment_id,
        status: row.status,
        trackingNumber: row.tracking_number,
        carrier: row.carrier,
        reason: row.reason,
        updatedAt: row.updated_at,
      };
    },
  );
}
