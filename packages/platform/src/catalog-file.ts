import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Catalog, CatalogSchema } from '@orderflow/contracts';

export const DEFAULT_CATALOG_FILE = fileURLToPath(new URL('../../../config/catalog.json', import.meta.url));

/** Loads and validates the catalog data file (CATALOG_FILE, else config/catalog.json). */
export function loadCatalog(file: string = DEFAULT_CATALOG_FILE): Catalog {
  const parsed = CatalogSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(`catalog ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
