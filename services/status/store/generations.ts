import type { Kysely } from 'kysely';
import type { StatusDatabase, StatusTables } from './schema.ts';

export type Generation = StatusTables['projection_generations'];

/** The first generation keeps the group name the status service always had. */
export const FIRST_GROUP = 'status';
const groupOf = (generation: number) => (generation === 1 ? FIRST_GROUP : `status-g${generation}`);

type Db = Kysely<StatusDatabase>;

const normalized = (row: Generation): Generation => ({ ...row, generation: Number(row.generation), events_projected: Number(row.events_projected) });

/** The generations a service projects into: the active one and a rebuild in progress, if any. Creates the first. */
export async function openGenerations(db: Db, now: string): Promise<{ active: Generation; rebuilding: Generation | undefined }> {
  await db
    .insertInto('projection_generations')
    .values({ generation: 1, role: 'active', consumer_group: FIRST_GROUP, events_projected: 0, started_at: now, finished_at: null, error: null })
    .onConflict((oc) => oc.column('generation').doNothing())
    .execute();
  const rows = (await db.selectFrom('projection_generations').selectAll().where('role', 'in', ['active', 'rebuilding']).execute()).map(normalized);
  const active = rows.find((r) => r.role === 'active');
  if (!active) throw new Error('projection_generations: no active generation (a switch was interrupted outside its transaction?)');
  return { active, rebuilding: rows.find((r) => r.role === 'rebuilding') };
}

/** The most recent generation: the latest rebuild's progress, or the first generation when none ever ran. */
export async function latestGeneration(db: Db): Promise<Generation | undefined> {
  const row = await db.selectFrom('projection_generations').selectAll().orderBy('generation', 'desc').limit(1).executeTakeFirst();
  return row && normalized(row);
}

/** A new generation to rebuild into, or undefined when one is being rebuilt already. */
export async function beginRebuild(db: Db, now: string): Promise<Generation | undefined> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx.selectFrom('projection_generations').select(['generation', 'role']).orderBy('generation', 'desc').execute();
    if (rows.some((r) => r.role === 'rebuilding')) return undefined;
    const generation = Number(rows[0]?.generation ?? 0) + 1;
    const row: Generation = { generation, role: 'rebuilding', consumer_group: groupOf(generation), events_projected: 0, started_at: now, finished_at: null, error: null };
    // Two requests at once: the second one's insert conflicts on the primary key and fails its request.
    await trx.insertInto('projection_generations').values(row).execute();
    return row;
  });
}

/** The rebuilt generation takes over: one transaction, so queries see either the old copy or the new one. */
export async function takeOver(db: Db, generation: number, now: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('projection_generations').set({ role: 'retired' }).where('role', '=', 'active').execute();
    await trx.updateTable('projection_generations').set({ role: 'active', finished_at: now }).where('generation', '=', generation).execute();
  });
}

export async function failRebuild(db: Db, generation: number, error: string, now: string): Promise<void> {
  await db.updateTable('projection_generations').set({ role: 'failed', error, finished_at: now }).where('generation', '=', generation).execute();
}

const DELETE_CHUNK = 5_000;

/**
 * Deletes a generation's rows (a retired or failed copy) and its group's inbox rows, a chunk
 * per transaction, so that the projection's transactions wait for no long delete.
 */
export async function deleteGenerationRows(db: Db, generation: Generation): Promise<void> {
  const g = generation.generation;
  await deleteInChunks(
    () => db.selectFrom('order_views').select('order_id as key').where('generation', '=', g).limit(DELETE_CHUNK).execute(),
    (keys) => db.deleteFrom('order_views').where('generation', '=', g).where('order_id', 'in', keys).execute(),
  );
  await deleteInChunks(
    () => db.selectFrom('inbox').select('message_id as key').where('consumer_group', '=', generation.consumer_group).limit(DELETE_CHUNK).execute(),
    (keys) => db.deleteFrom('inbox').where('consumer_group', '=', generation.consumer_group).where('message_id', 'in', keys).execute(),
  );
  for (const table of ['order_counts', 'orders_per_minute', 'revenue', 'stock_levels'] as const) {
    await db.deleteFrom(table).where('generation', '=', g).execute();
  }
}

/** Reads a chunk of keys, deletes them, until none is left: each delete its own short statement. */
async function deleteInChunks(chunk: () => Promise<{ key: string }[]>, remove: (keys: string[]) => Promise<unknown>): Promise<void> {
  for (let rows = await chunk(); rows.length > 0; rows = await chunk()) await remove(rows.map((r) => r.key));
}
