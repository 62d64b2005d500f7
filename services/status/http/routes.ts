import { InventoryLevelView, OrderStatus, OrderView } from '@orderflow/contracts';
import { ApiError, ErrorBody, type HttpApp, assertOwnOrder, sendJsonText } from '@orderflow/platform';
import { z } from 'zod';
import type { PageCursor, ReadModelQueries } from '../store/read-model.ts';

export interface StatusRoutesDeps {
  queries: ReadModelQueries;
  now: () => Date;
}

/** The keyset of a page's end, opaque to clients: base64url of [sortMs, orderId]. */
const CursorJson = z.tuple([z.number().int(), z.string().min(1).max(200)]);
export const encodeCursor = (cursor: PageCursor | null): string | null =>
  cursor && Buffer.from(JSON.stringify([cursor.sortMs, cursor.orderId])).toString('base64url');

export function decodeCursor(text: string): PageCursor {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = CursorJson.safeParse(json);
  if (!parsed.success) {
    const message = 'must be the nextCursor of a previous page, unchanged';
    throw new ApiError(400, 'VALIDATION_FAILED', `querystring.before: ${message}`, [{ field: 'querystring.before', rule: 'cursor', message }]);
  }
  return { sortMs: parsed.data[0], orderId: parsed.data[1] };
}

export const OrderPage = z.object({ items: z.array(OrderView), nextCursor: z.string().nullable(), limit: z.number().int() });

export const OrderIdParams = z.object({ orderId: z.string().min(1).max(200) });

const Stats = z.object({
  countsByStatus: z.record(OrderStatus, z.number().int()),
  ordersPerMinute: z.array(z.object({ minute: z.string(), count: z.number().int() })),
  revenue: z.array(z.object({ currency: z.string(), amount: z.number().int() })),
  totalOrders: z.number().int(),
});

export function registerStatusRoutes(app: HttpApp, deps: StatusRoutesDeps) {
  const { queries } = deps;

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
    async (request, reply) => {
      const notFound = () => new ApiError(404, 'NOT_FOUND', `orderId: no events seen for order ${request.params.orderId}`);
      const stored = await queries.storedOrder(request.params.orderId);
      if (!stored) throw notFound();
      assertOwnOrder(request, stored.customerId, notFound);
      // Sent as the projection stored it (see sendJsonText): its own JSON of an OrderView.
      return sendJsonText(reply, stored.json);
    },
  );

  app.get(
    '/status',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['status'],
        summary: 'Orders, newest first, a page at a time: pass nextCursor as `before` for the next (older) page (operators)',
        querystring: z.object({
          status: OrderStatus.optional(),
          customerId: z.string().min(1).max(200).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          before: z.string().min(1).max(400).optional(),
        }),
        response: { 200: OrderPage },
      },
    },
    async (request, reply) => {
      const { status, customerId, limit, before } = request.query;
      const page = await queries.storedPage({ limit, status, customerId, before: before === undefined ? undefined : decodeCursor(before) });
      return sendJsonText(reply, `{"items":[${page.items.join(',')}],"nextCursor":${JSON.stringify(encodeCursor(page.nextCursor))},"limit":${limit}}`);
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
    async () => queries.stats(deps.now()),
  );

  app.get(
    '/inventory',
    { config: { access: 'public' }, schema: { tags: ['status'], summary: 'Stock levels as the inventory events report them', response: { 200: z.object({ items: z.array(InventoryLevelView) }) } } },
    async () => ({ items: await queries.inventory() }),
  );
}
