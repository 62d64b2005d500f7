import { InventoryLevelView, OrderStatus, OrderView } from '@orderflow/contracts';
import { ApiError, ErrorBody, type HttpApp, assertOwnOrder } from '@orderflow/platform';
import { z } from 'zod';
import { summarize } from '../domain/order-stats.ts';
import type { ReadModel } from '../store/read-model.ts';

export interface StatusRoutesDeps {
  readModel: ReadModel;
  now: () => Date;
}

export const OrderIdParams = z.object({ orderId: z.string().min(1).max(200) });

const Stats = z.object({
  countsByStatus: z.record(OrderStatus, z.number().int()),
  ordersPerMinute: z.array(z.object({ minute: z.string(), count: z.number().int() })),
  revenue: z.array(z.object({ currency: z.string(), amount: z.number().int() })),
  totalOrders: z.number().int(),
});

export function registerStatusRoutes(app: HttpApp, deps: StatusRoutesDeps) {
  const { readModel } = deps;

  app.get(
    '/status/:orderId',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['status'],
        summary: "One order's status, steps and timeline (a customer: their own)",
        params: OrderIdParams,
        response: { 200: OrderView, 404: ErrorBody },
      },
    },
    async (request) => {
      const notFound = () => new ApiError(404, 'NOT_FOUND', `orderId: no events seen for order ${request.params.orderId}`);
      const view = readModel.order(request.params.orderId);
      if (!view) throw notFound();
      assertOwnOrder(request, view.customerId, notFound);
      return view;
    },
  );

  app.get(
    '/status',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['status'],
        summary: 'Orders, newest first (operators)',
        querystring: z.object({
          status: OrderStatus.optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          offset: z.coerce.number().int().min(0).default(0),
        }),
        response: { 200: z.object({ items: z.array(OrderView), total: z.number().int(), limit: z.number().int(), offset: z.number().int() }) },
      },
    },
    async (request) => {
      const { status, limit, offset } = request.query;
      const matching = readModel.orders().filter((o) => status === undefined || o.status === status);
      return { items: matching.slice(offset, offset + limit), total: matching.length, limit, offset };
    },
  );

  app.get(
    '/stats',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['status'],
        summary: 'Counts by status, orders per minute (last 30 minutes), revenue of completed orders in minor units',
        response: { 200: Stats },
      },
    },
    async () => summarize(readModel.orders(), deps.now()),
  );

  app.get(
    '/inventory',
    { config: { access: 'public' }, schema: { tags: ['status'], summary: 'Stock levels as the inventory events report them', response: { 200: z.object({ items: z.array(InventoryLevelView) }) } } },
    async () => ({ items: readModel.inventory() }),
  );
}
