import { z } from 'zod';

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
        initialStock: z.number().int().nonnegative(),
      }),
    )
    .min(1),
});
export type Catalog = z.infer<typeof CatalogSchema>;
export type CatalogProduct = Catalog['products'][number];
