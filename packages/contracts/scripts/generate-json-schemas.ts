import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventJsonSchemas } from '../src/json-schemas.ts';

/** Writes schemas/<Event>.v1.schema.json from the zod schemas (npm run schemas). */
const dir = fileURLToPath(new URL('../schemas/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const [file, schema] of Object.entries(eventJsonSchemas())) writeFileSync(`${dir}${file}`, `${JSON.stringify(schema, null, 2)}\n`);
process.stdout.write(`wrote ${Object.keys(eventJsonSchemas()).length} JSON Schema files to ${dir}\n`);
