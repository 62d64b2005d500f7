import { ApiError, ErrorBody, type HttpApp, assertOwnOrder } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { PaymentDatabase } from '../store/schema.ts';

export const PaymentFailureInjection = z.object({
  /** Share of charges declined at random, 0 to 1. */
  failureRate: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
});
export type PaymentFailureInjection = z.infer<typeof PaymentFailureInjection>;

const Payment = z.object({
  orderId: z.string(),
  paymentId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  status: z.string(),
  reason: z.string().nullable(),
  updatedAt: z.string(),
});

export function registerPaymentRoutes(app: HttpApp, deps: { db: Kysely<PaymentDatabase> }) {
  app.get(
    '/payments/:orderId',
    {
      config: { access: 'customer' },
      schema: { tags: ['payments'], summary: "An order's payment (a customer: their own)", params: z.object({ orderId: z.string().min(1) }), response: { 200: Payment, 404: ErrorBody } },
    },
    async (request) => {
      const notFound = () => new ApiError(404, 'NOT_FOUND', `orderId: no payment for order ${request.params.orderId}`);
      const row = await deps.db.selectFrom('payments').selectAll().where('order_id', '=', request.params.orderId).executeTakeFirst();
      if (!row) throw notFound();
      assertOwnOrder(request, row.customer_id, notFound);
      return { orderId: row.order_id, paymentId: row.payment_id, amount: Number(row.amount), currency: row.currency, status: row.status, reason: row.reason, updatedAt: row.updated_at };
    },
  );
}
