import { createHash, randomUUID } from 'node:crypto';
import { OrderLine, OrderStatus } from '@orderflow/contracts';
import { ApiError, type Caller, ErrorBody, type EventFactory, type HttpApp, type Limits, appendToOutbox, assertOwnOrder, mayAccessOrder, perClientRateLimit } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { decideCancel } from '../domain/order.ts';
import { type PriceList, priceOrder } from '../domain/place-order.ts';
import { toOrderEvent } from '../handlers/track-order-progress.ts';
import { StaleOrderError, insertOrder, loadOrder, updateOrder } from '../store/order-store.ts';
import type { OrderDatabase } from '../store/schema.ts';
import { OrderRequestBody, toOrderRequest } from './order-request.ts';
import type { OutboxRelay } from '@orderflow/platform';

export interface OrderRoutesDeps {
  db: Kysely<OrderDatabase>;
  events: EventFactory;
  relay: OutboxRelay;
  prices: PriceList;
  currency: string;
  now: () => string;
  limits: Pick<Limits, 'ordersPerCustomerPerMinute' | 'cancelsPerCustomerPerMinute'>;
}

const Accepted = z.object({ orderId: z.string(), status: z.literal('PENDING'), total: z.number().int(), currency: z.string() });
const OrderBody = z.object({
  orderId: z.string(),
  customerId: z.string(),
  status: OrderStatus,
  items: z.array(OrderLine),
  total: z.number().int(),
  currency: z.string(),
  trackingNumber: z.string().nullable(),
  carrier: z.string().nullable(),
  failureReason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
/** A cancel races the saga at most a few steps: each retry sees a newer status. */
const CANCEL_ATTEMPTS = 5;
const IdempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(200).optional() });
const OrderIdParams = z.object({ orderId: z.string().min(1) });

/** Thrown inside the transaction to roll it back when the idempotency key already exists. */
class KeyTaken extends Error {}

export function registerOrderRoutes(app: HttpApp, deps: OrderRoutesDeps) {
  const { db } = deps;

  async function placeOrder(body: OrderRequestBody, idempotencyKey: string | undefined, caller: Caller | undefined) {
    const orderRequest = toOrderRequest(body);
    if (caller?.role === 'customer' && caller.customerId !== orderRequest.customerId) {
      throw new ApiError(403, 'FORBIDDEN', `body.customerId: must be your own customer id ${caller.customerId} (the token's subject), not ${orderRequest.customerId}`);
    }
    const priced = priceOrder(orderRequest, deps.prices, deps.currency);
    if (!priced.ok) {
      throw new ApiError(422, 'INVALID_ORDER', priced.issues.map((i) => `${i.field}: ${i.message}`).join('; '), priced.issues);
    }
    const order = { ...priced.order, orderId: randomUUID(), status: 'PENDING' as const, trackingNumber: null, carrier: null, failureReason: null };
    const requestHash = createHash('sha256').update(JSON.stringify(priced.order)).digest('hex');
    try {
      await db.transaction().execute(async (trx) => {
        if (idempotencyKey) {
          const claimed = await trx
            .insertInto('idempotency_keys')
            .values({ key: idempotencyKey, request_hash: requestHash, order_id: order.orderId, created_at: deps.now() })
            .onConflict((oc) => oc.column('key').doNothing())
            .executeTakeFirst();
          if (Number(claimed.numInsertedOrUpdatedRows ?? 0n) === 0) throw new KeyTaken();
        }
        await insertOrder(trx, order, deps.now());
        const created = deps.events.create('OrderCreated', order.orderId, {
          customerId: order.customerId,
          items: order.items,
          total: order.total,
          currency: order.currency,
        });
        await appendToOutbox(trx, [created]);
      });
    } catch (error) {
      if (!(error instanceof KeyTaken) || !idempotencyKey) throw error;
      const previous = await db.selectFrom('idempotency_keys').selectAll().where('key', '=', idempotencyKey).executeTakeFirstOrThrow();
      if (previous.request_hash !== requestHash) {
        throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'header idempotency-key: already used for a different order request');
      }
      const existing = await loadOrder(db, previous.order_id);
      return { replayed: true, body: { orderId: previous.order_id, status: 'PENDING' as const, total: existing?.total ?? order.total, currency: order.currency } };
    }
    deps.relay.wake();
    return { replayed: false, body: { orderId: order.orderId, status: 'PENDING' as const, total: order.total, currency: order.currency } };
  }

  // Per customer, so that one customer's flood does not slow the others. Counted after
  // access control and validation: on the signed-in customer (the token's subject) when
  // there is one, so that nobody can spend another customer's allowance; else (anonymous
  // in development mode, or an operator acting for a customer) on the body's customer id
  // (place) and on the order's customer (cancel).
  const signedInCustomerKey = (caller: Caller | undefined) => (caller?.role === 'customer' ? `customer:${caller.customerId}` : undefined);
  const placeLimit = perClientRateLimit(app, {
    perMinute: deps.limits.ordersPerCustomerPerMinute,
    field: 'body.customerId',
    what: 'orders per customer',
    key: (request) => {
      const signedIn = signedInCustomerKey(request.caller);
      if (signedIn) return signedIn;
      const body = OrderRequestBody.safeParse(request.body);
      return body.success ? `customer:${toOrderRequest(body.data).customerId}` : `ip:${request.ip}`;
    },
  });
  const cancelLimit = perClientRateLimit(app, {
    perMinute: deps.limits.cancelsPerCustomerPerMinute,
    field: 'params.orderId',
    what: "cancellations of one customer's orders",
    key: async (request) => {
      const signedIn = signedInCustomerKey(request.caller);
      if (signedIn) return signedIn;
      const params = OrderIdParams.safeParse(request.params);
      const order = params.success
        ? await db.selectFrom('orders').select('customer_id').where('order_id', '=', params.data.orderId).executeTakeFirst()
        : undefined;
      return order ? `customer:${order.customer_id}` : `ip:${request.ip}`;
    },
  });

  const routes = [
    ['/orders', 'Place an order'],
    ['/order', 'Place an order (documents 000 and 001)'],
    ['/api/orders', 'Place an order (document 002)'],
  ] as const;
  for (const [path, summary] of routes) {
    app.post(
      path,
      {
        config: { access: 'customer' },
        schema: {
          tags: ['orders'],
          summary,
          description:
            'Validates, prices from the catalog and stores the order PENDING with its OrderCreated event in one transaction. ' +
            'Accepts the request shapes of every source document. Send Idempotency-Key to make retries safe.',
          headers: IdempotencyHeaders,
          body: OrderRequestBody,
          response: { 202: Accepted, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 422: ErrorBody, 429: ErrorBody },
        },
        preHandler: placeLimit,
      },
      async (request, reply) => {
        const result = await placeOrder(request.body, request.headers['idempotency-key'], request.caller);
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        return reply.status(202).send(result.body);
      },
    );
  }

  app.get(
    '/orders/:orderId',
    {
      config: { access: 'customer' },
      schema: { tags: ['orders'], summary: 'One order (a customer: their own)', params: OrderIdParams, response: { 200: OrderBody, 404: ErrorBody } },
    },
    async (request) => {
      const notFound = () => new ApiError(404, 'NOT_FOUND', `orderId: no order ${request.params.orderId}`);
      const order = await loadOrder(db, request.params.orderId);
      if (!order) throw notFound();
      assertOwnOrder(request, order.customerId, notFound);
      return order;
    },
  );

  app.get(
    '/orders',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['orders'],
        summary: 'Orders, newest first (operators)',
        querystring: z.object({
          status: OrderStatus.optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          offset: z.coerce.number().int().min(0).default(0),
        }),
        response: { 200: z.object({ items: z.array(OrderBody.omit({ items: true })), limit: z.number(), offset: z.number(), total: z.number() }) },
      },
    },
    async (request) => {
      const { status, limit, offset } = request.query;
      let query = db.selectFrom('orders');
      if (status) query = query.where('status', '=', status);
      const [rows, count] = await Promise.all([
        query.selectAll().orderBy('created_at', 'desc').orderBy('order_id').limit(limit).offset(offset).execute(),
        query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return {
        items: rows.map((r) => ({
          orderId: r.order_id,
          customerId: r.customer_id,
          status: OrderStatus.parse(r.status),
          total: Number(r.total),
          currency: r.currency,
          trackingNumber: r.tracking_number,
          carrier: r.carrier,
          failureReason: r.failure_reason,
          createdAt: r.created_at,
          updatedAt: r.updated_at,
        })),
        limit,
        offset,
        total: Number(count.n),
      };
    },
  );

  app.post(
    '/orders/:orderId/cancel',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['orders'],
        summary: 'Cancel an order before it ships (a customer: their own)',
        description: 'Emits OrderCancelled; inventory releases the reservation and payment refunds the charge.',
        params: OrderIdParams,
        response: { 202: z.object({ orderId: z.string(), status: z.literal('CANCELLED') }), 404: ErrorBody, 409: ErrorBody, 429: ErrorBody },
      },
      preHandler: cancelLimit,
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const cancelOnce = () =>
        db.transaction().execute(async (trx) => {
          const order = await loadOrder(trx, orderId);
          if (!order || !mayAccessOrder(request.caller, order.customerId)) throw new ApiError(404, 'NOT_FOUND', `orderId: no order ${orderId}`);
          const cancel = decideCancel(order);
          if (!cancel.ok) throw new ApiError(409, 'NOT_CANCELLABLE', `status: ${cancel.reason}`);
          await updateOrder(trx, cancel.decision.order, order.status, deps.now());
          await appendToOutbox(trx, cancel.decision.events.map((draft) => toOrderEvent(deps.events, orderId, draft)));
        });
      // The saga may move the order on between our read and our write (PostgreSQL runs
      // them concurrently): decide again on the fresh status, which may now refuse.
      for (let attempt = 1; ; attempt++) {
        try {
          await cancelOnce();
          break;
        } catch (error) {
          if (!(error instanceof StaleOrderError) || attempt === CANCEL_ATTEMPTS) throw error;
        }
      }
      deps.relay.wake();
      return reply.status(202).send({ orderId, status: 'CANCELLED' as const });
    },
  );
}
