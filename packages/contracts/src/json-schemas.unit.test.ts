import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMAND_TOPIC } from './commands.ts';
import { EVENT_TYPES } from './events.ts';
import { messageJsonSchemas } from './json-schemas.ts';

describe('generated JSON Schema files', () => {
  const dir = fileURLToPath(new URL('../schemas/', import.meta.url));

  it('exist for every event and command type and match the zod schemas (run npm run schemas after a change)', () => {
    const generated = messageJsonSchemas();
    expect(readdirSync(dir).sort()).toEqual(Object.keys(generated).sort());
    for (const [file, schema] of Object.entries(generated)) {
      expect(JSON.parse(readFileSync(`${dir}${file}`, 'utf8')), file).toEqual(schema);
    }
    expect(Object.keys(generated)).toHaveLength(EVENT_TYPES.length + Object.keys(COMMAND_TOPIC).length);
  });

  it('describe the envelope and the data of each event', () => {
    const shipped = messageJsonSchemas()['Shipped.v1.schema.json'] as { properties: Record<string, { properties?: Record<string, unknown> }>; required: string[] };
    expect(shipped.required).toEqual(expect.arrayContaining(['id', 'type', 'version', 'orderId', 'occurredAt', 'source', 'correlationId', 'causationId', 'data']));
    expect(shipped.properties.data?.properties).toHaveProperty('trackingNumber');
    const cancelShipment = messageJsonSchemas()['CancelShipment.v1.schema.json'] as { properties: Record<string, { properties?: Record<string, unknown>; const?: string }> };
    expect(cancelShipment.properties.type?.const).toBe('CancelShipment');
    expect(cancelShipment.properties.data?.properties).toHaveProperty('status');
  });
});
