import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { PlatformTables } from './database/platform-tables.ts';

/**
 * Runtime settings a service keeps in its own database (failure injection switches),
 * so an operator's change survives a restart. Read from memory on the hot path.
 */
export interface SettingsStore<T> {
  current(): T;
  update(patch: Partial<T>): Promise<T>;
}

export async function openSettingsStore<S extends z.ZodObject, DB extends PlatformTables>(
  database: Kysely<DB>,
  name: string,
  schema: S,
  defaults: z.infer<S>,
): Promise<SettingsStore<z.infer<S>>> {
  const db = database as unknown as Kysely<PlatformTables>;
  const row = await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst();
  const stored = row ? schema.partial().safeParse(JSON.parse(row.value)) : undefined;
  let value = schema.parse({ ...defaults, ...(stored?.success ? stored.data : {}) }) as z.infer<S>;
  return {
    current: () => value,
    async update(patch) {
      const next = schema.parse({ ...value, ...patch }) as z.infer<S>;
      await db
        .insertInto('settings')
        .values({ name, value: JSON.stringify(next) })
        .onConflict((oc) => oc.column('name').doUpdateSet({ value: JSON.stringify(next) }))
        .execute();
      value = next;
      return value;
    },
  };
}
