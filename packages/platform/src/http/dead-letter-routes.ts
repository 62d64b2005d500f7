import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { PlatformTables } from '../database/platform-tables.ts';
import type { EventConsumer } from '../messaging/event-consumer.ts';
import { ApiError, ErrorBody } from './api-error.ts';
import type { HttpApp } from './http-server.ts';

const DeadLetter = z.object({
  id: z.number(),
  consumerGroup: z.string(),
  topic: z.string(),
  partition: z.number(),
  offset: z.string(),
  key: z.string(),
  eventType: z.string().nullable(),
  error: z.string(),
  attempts: z.number(),
  failedAt: z.string(),
  replayedAt: z.string().nullable(),
  discardedAt: z.string().nullable(),
  value: z.string(),
});

/** The 409 for a dead letter an operator already replayed or discarded; undefined while it is unresolved. */
function alreadyResolved(id: number, row: { replayed_at: string | null; discarded_at: string | null }): ApiError | undefined {
  if (row.replayed_at) return new ApiError(409, 'ALREADY_REPLAYED', `id: dead letter ${id} was replayed at ${row.replayed_at}`);
  if (row.discarded_at) return new ApiError(409, 'ALREADY_DISCARDED', `id: dead letter ${id} was discarded at ${row.discarded_at}`);
  return undefined;
}

/**
 * Each service lists the records its own consumer groups dead-lettered, and replays
 * one through the same handler path (inbox included), so a replay after a fix
 * happens at most once with effect, or discards one that needs no handling. A dead
 * letter stays until an operator does one or the other; once resolved it is deleted
 * after INBOX_RETENTION (README "Retention").
 */
const DeadLetterParams = z.object({ id: z.coerce.number().int().positive() });

export function registerDeadLetterRoutes<DB extends PlatformTables>(app: HttpApp, database: Kysely<DB>, consumers: readonly EventConsumer[]) {
  const db = database as unknown as Kysely<PlatformTables>;
  app.get(
    '/admin/dead-letters',
    { config: { access: 'operator' }, schema: { tags: ['admin'], summary: 'Records this service dead-lettered', response: { 200: z.object({ items: z.array(DeadLetter) }) } } },
    async () => {
      const rows = await db.selectFrom('dead_letters').selectAll().orderBy('id', 'desc').limit(500).execute();
      return {
        items: rows.map((r) => {
          const headers = JSON.parse(r.headers) as Record<string, string>;
          return {
            id: Number(r.id),
            consumerGroup: r.consumer_group,
            topic: r.topic,
            partition: r.partition,
            offset: r.offset,
            key: r.key,
            eventType: headers['event-type'] ?? null,
            error: r.error,
            attempts: r.attempts,
            failedAt: r.failed_at,
            replayedAt: r.replayed_at,
            discardedAt: r.discarded_at,
            value: r.value,
          };
        }),
      };
    },
  );

  app.post(
    '/admin/dead-letters/:id/replay',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Handle a dead-lettered record again',
        params: DeadLetterParams,
        response: { 200: z.object({ replayed: z.literal(true), id: z.number() }), 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) => {
      const row = await db.selectFrom('dead_letters').selectAll().where('id', '=', request.params.id).executeTakeFirst();
      if (!row) throw new ApiError(404, 'NOT_FOUND', `id: no dead letter ${request.params.id}`);
      const resolved = alreadyResolved(Number(row.id), row);
      if (resolved) throw resolved;
      const consumer = consumers.find((c) => c.group === row.consumer_group);
      if (!consumer) throw new ApiError(409, 'NO_CONSUMER', `consumerGroup: ${row.consumer_group} is not running here`);
      try {
        await consumer.process({
          topic: row.topic,
          partition: row.partition,
          offset: row.offset,
          key: row.key,
          value: row.value,
          headers: JSON.parse(row.headers) as Record<string, string>,
          timestamp: Date.now(),
        });
      } catch (error) {
        throw new ApiError(409, 'REPLAY_FAILED', `the handler failed again: ${error instanceof Error ? error.message : String(error)}`);
      }
      await db.updateTable('dead_letters').set({ replayed_at: new Date().toISOString() }).where('id', '=', row.id).execute();
      return { replayed: true as const, id: Number(row.id) };
    },
  );

  app.post(
    '/admin/dead-letters/:id/discard',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Resolve a dead-lettered record without handling it',
        params: DeadLetterParams,
        response: { 200: z.object({ discarded: z.literal(true), id: z.number() }), 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) => {
      const id = request.params.id;
      // One statement: a concurrent replay either happened first (409) or finds it discarded.
      const result = await db
        .updateTable('dead_letters')
        .set({ discarded_at: new Date().toISOString() })
        .where('id', '=', id)
        .where('replayed_at', 'is', null)
        .where('discarded_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) return { discarded: true as const, id };
      const row = await db.selectFrom('dead_letters').select(['replayed_at', 'discarded_at']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError(404, 'NOT_FOUND', `id: no dead letter ${id}`);
      throw alreadyResolved(id, row) ?? new ApiError(409, 'ALREADY_RESOLVED', `id: dead letter ${id} changed meanwhile`);
    },
  );
}
