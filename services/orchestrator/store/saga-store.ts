import type { Kysely } from 'kysely';
import type { Saga } from '../domain/saga.ts';
import type { OrchestratorDatabase } from './schema.ts';

type Db = Kysely<OrchestratorDatabase>;

export interface StoredSaga {
  saga: Saga;
  version: number;
}

export async function loadSaga(db: Db, orderId: string): Promise<StoredSaga | undefined> {
  const row = await db.selectFrom('sagas').select(['state', 'version']).where('order_id', '=', orderId).executeTakeFirst();
  return row ? { saga: JSON.parse(row.state) as Saga, version: Number(row.version) } : undefined;
}

/**
 * Saves a saga if nobody else changed it since it was loaded (optimistic version), so
 * the timeout sweep and a reply handled at the same moment cannot both act: the loser
 * rolls back and is retried on fresh state.
 */
export async function saveSaga(db: Db, saga: Saga, loadedVersion: number | undefined, now: string): Promise<void> {
  const values = { status: saga.status, state: JSON.stringify(saga), deadline_at: saga.deadline, updated_at: now };
  if (loadedVersion === undefined) {
    await db.insertInto('sagas').values({ order_id: saga.orderId, ...values, version: 1, created_at: now }).execute();
    return;
  }
  const result = await db
    .updateTable('sagas')
    .set({ ...values, version: loadedVersion + 1 })
    .where('order_id', '=', saga.orderId)
    .where('version', '=', loadedVersion)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) throw new Error(`saga ${saga.orderId} changed while it was being decided; retrying`);
}

export async function dueSagas(db: Db, now: string, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('sagas')
    .select('order_id')
    .where('status', '=', 'RUNNING')
    .where('deadline_at', '<=', now)
    .orderBy('deadline_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.order_id);
}
