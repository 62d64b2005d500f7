import { z } from 'zod';
import { EVENT_TYPES, EventSchemas } from './events.ts';

/** One JSON Schema document per event type (envelope included), keyed by file name. */
export function eventJsonSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    EVENT_TYPES.map((type) => [
      `${type}.v1.schema.json`,
      { $id: `https://orderflow.dev/schemas/${type}.v1.schema.json`, title: type, ...z.toJSONSchema(EventSchemas[type], { io: 'input' }) },
    ]),
  );
}
