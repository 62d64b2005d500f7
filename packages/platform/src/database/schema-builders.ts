import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/** A migration that may need to know the dialect for the few types that differ. */
export type ServiceMigration = (db: Kysely<unknown>, dialect: Dialect) => Promise<void>;

/** An auto-incrementing integer primary key, spelled for the dialect. */
export function withIdColumn<T extends string>(
  table: CreateTableBuilder<T, never>,
  dialect: Dialect,
  name = 'id',
): CreateTableBuilder<T, never> {
  return dialect === 'postgres'
    ? table.addColumn(name, 'bigserial', (c: ColumnDefinitionBuilder) => c.primaryKey())
    : table.addColumn(name, 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement());
}
