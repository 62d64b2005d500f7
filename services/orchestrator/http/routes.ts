import { ApiError, ErrorBody, type HttpApp } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Saga } from '../domain/saga.ts';
import type { OrchestratorDatabase } from '../store/schema.ts';

const SagaView = z.object({
  orderId: z.string(),
  status: z.enum(['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED']),
  step: z.string(),
  invoked: z.array(z.string()),
  done: z.array(z.string()),
  notified: z.boolean(),
  attempts: z.number(),
  deadline: z.string().nullable(),
  outcome: z.string().nullable(),
  history: z.array(z.object({ at: z.string(), message: z.string(), commands: z.array(z.string()) })),
  updatedAt: z.string(),
});

export function registerSagaRoutes(app: HttpApp, deps: { db: Kysely<OrchestratorDatabase>; stepName: (index: number) => string }) {
  const toView = (row: { state: string; updated_at: string }) => {
    const saga = JSON.parse(row.state) as Saga;
    const { order: _order, step, ...rest } = saga;
    return { ...rest, step: deps.stepName(step), updatedAt: row.updated_at };
  };
  app.get(
    '/sagas/:orderId',
    { config: { access: 'operator' }, schema: { tags: ['sagas'], summary: "An order's saga: step, what is done, what was compensated, every decision", params: z.object({ orderId: z.string().min(1) }), response: { 200: SagaView, 404: ErrorBody } } },
    async (request) => {
      const row = await deps.db.selectFrom('sagas').select(['state', 'updated_at']).where('order_id', '=', request.params.orderId).executeTakeFirst();
      if (!row) throw new ApiError(404, 'NOT_FOUND', `orderId: no saga for order ${request.params.orderId}`);
      return toView(row);
    },
  );
  app.get(
    '/sagas',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['sagas'],
        summary: 'Sagas, most recently changed first',
        querystring: z.object({
          status: z.enum(['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED']).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          offset: z.coerce.number().int().min(0).default(0),
        }),
        response: { 200: z.object({ items: z.array(SagaView), limit: z.number(), offset: z.number() }) },
      },
    },
    async (request) => {
      const { status, limit, offset } = request.query;
      let query = deps.db.selectFrom('sagas').select(['state', 'updated_at']);
      if (status) query = query.where('status', '=', status);
      const rows = await query.orderBy('updated_at', 'desc').limit(limit).offset(offset).execute();
      return { items: rows.map(toView), limit, offset };
    },
  );
}
