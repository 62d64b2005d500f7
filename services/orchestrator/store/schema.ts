import type { PlatformTables, ServiceMigration } from '@orderflow/platform';

export interface OrchestratorTables {
  sagas: {
    order_id: string;
    status: string;
    /** The whole saga as JSON: the decider's state. */
    state: string;
    /** When the awaited step times out; null when nothing is awaited. */
    deadline_at: string | null;
    version: number;
    created_at: string;
    updated_at: string;
  };
}
export type OrchestratorDatabase = OrchestratorTables & PlatformTables;

export const orchestratorMigrations: Record<string, ServiceMigration> = {
  '0001_sagas': async (db) => {
    await db.schema
      .createTable('sagas')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('deadline_at', 'text')
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sagas_deadline').on('sagas').columns(['status', 'deadline_at']).execute();
  },
};
