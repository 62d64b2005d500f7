import { z } from 'zod';

/** The most stock one product can hold: PostgreSQL's integer column (SQLite's holds more; the limit is the smaller). */
export const MAX_STOCK = 2_147_483_647;

/** The catalog data file (config/catalog.json): prices in minor units. */
export const CatalogSchema = z.object({
  currency: z.string().regex(/^[A-Z]{3}$/),
  products: z
    .array(
      z.object({
        productId: z.string().min(1).max(64),
        name: z.string().min(1),
        nameJa: z.string().optional(),
        unitPrice: z.number().int().nonnegative(),
        initialStock: z.number().int().nonnegative().max(MAX_STOCK),
      }),
    )
    .min(1),
});
export type Catalog = z.infer<typeof CatalogSchema>;
export type CatalogProduct = Catalog['products'][number];
