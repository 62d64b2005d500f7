import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { messageJsonSchemas } from '../src/json-schemas.ts';

/** Writes schemas/<Message>.v1.schema.json from the zod schemas (npm run schemas). */
const dir = fileURLToPath(new URL('../schemas/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const [file, schema] of Object.entries(messageJsonSchemas())) writeFileSync(`${dir}${file}`, `${JSON.stringify(schema, null, 2)}\n`);
process.stdout.write(`wrote ${Object.keys(messageJsonSchemas()).length} JSON Schema files to ${dir}\n`);
