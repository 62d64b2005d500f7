import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from './events.ts';
import { eventJsonSchemas } from './json-schemas.ts';

describe('generated JSON Schema files', () => {
  const dir = fileURLToPath(new URL('../schemas/', import.meta.url));

  it('exist for every event type and match the zod schemas (run npm run schemas after a change)', () => {
    const generated = eventJsonSchemas();
    expect(readdirSync(dir).sort()).toEqual(Object.keys(generated).sort());
    for (const [file, schema] of Object.entries(generated)) {
      expect(JSON.parse(readFileSync(`${dir}${file}`, 'utf8')), file).toEqual(schema);
    }
    expect(Object.keys(generated)).toHaveLength(EVENT_TYPES.length);
  });

  it('describe the envelope and the data of each event', () => {
    const shipped = eventJsonSchemas()['Shipped.v1.schema.json'] as { properties: Record<string, { properties?: Record<string, unknown> }>; required: string[] };
    expect(shipped.required).toEqual(expect.arrayContaining(['id', 'type', 'version', 'orderId', 'occurredAt', 'source', 'correlationId', 'causationId', 'data']));
    expect(shipped.properties.data?.properties).toHaveProperty('trackingNumber');
  });
});
