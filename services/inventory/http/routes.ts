import { MAX_STOCK } from '@orderflow/contracts';
import { ApiError, ErrorBody, type EventFactory, type HttpApp, type OutboxRelay, appendToOutbox } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { restockProduct } from '../handlers/restock.ts';
import type { InventoryDatabase } from '../store/schema.ts';
import { StockLimitError } from '../store/stock-store.ts';

export const FailureInjection = z.object({
  /** Document 002: an order with product FAIL makes the reservation handler throw (then DLT). */
  failOnInjectedSku: z.boolean(),
});
export type FailureInjection = z.infer<typeof FailureInjection>;

const Product = z.object({
  productId: z.string(),
  name: z.string(),
  unitPrice: z.number().int(),
  currency: z.string(),
  available: z.number().int(),
});

export function registerInventoryRoutes(
  app: HttpApp,
  deps: { db: Kysely<InventoryDatabase>; events: EventFactory; relay: OutboxRelay; now: () => string },
) {
  const { db } = deps;
  const toProduct = (r: { product_id: string; name: string; unit_price: number; currency: string; available: number }) => ({
    productId: r.product_id,
    name: r.name,
    unitPrice: Number(r.unit_price),
    currency: r.currency,
    available: Number(r.available),
  });

  app.get(
    '/inventory',
    { config: { access: 'public' }, schema: { tags: ['inventory'], summary: 'Every product with its price and available stock', response: { 200: z.object({ items: z.array(Product) }) } } },
    async () => ({ items: (await db.selectFrom('products').selectAll().orderBy('product_id').execute()).map(toProduct) }),
  );

  app.get(
    '/inventory/:productId',
    { config: { access: 'public' }, schema: { tags: ['inventory'], summary: 'One product', params: z.object({ productId: z.string().min(1) }), response: { 200: Product, 404: ErrorBody } } },
    async (request) => {
      const row = await db.selectFrom('products').selectAll().where('product_id', '=', request.params.productId).executeTakeFirst();
      if (!row) throw new ApiError(404, 'NOT_FOUND', `productId: no product ${request.params.productId}`);
      return toProduct(row);
    },
  );

  app.post(
    '/inventory/:productId/restock',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['inventory'],
        summary: 'Add stock to a product (operators)',
        params: z.object({ productId: z.string().min(1) }),
        body: z.object({ quantity: z.number().int('must be a whole number').positive('must be at least 1').max(MAX_STOCK, `at most ${MAX_STOCK}`) }),
        response: { 200: Product, 404: ErrorBody, 422: ErrorBody },
      },
    },
    async (request) => {
      const { productId } = request.params;
      try {
        await db.transaction().execute(async (trx) => {
          const event = await restockProduct(trx, deps, productId, request.body.quantity);
          if (!event) throw new ApiError(404, 'NOT_FOUND', `productId: no product ${productId}`);
          await appendToOutbox(trx, [event]);
        });
      } catch (error) {
        if (!(error instanceof StockLimitError)) throw error;
        const message = `${error.available} in stock plus ${error.quantity} is above the most a product can hold (${MAX_STOCK})`;
        throw new ApiError(422, 'STOCK_LIMIT', `body.quantity: ${message}`, [{ field: 'body.quantity', rule: 'max_stock', message }]);
      }
      deps.relay.wake();
      return toProduct(await db.selectFrom('products').selectAll().where('product_id', '=', productId).executeTakeFirstOrThrow());
    },
  );
}
