import { z } from 'zod';
import { MESSAGE_TYPES, MessageSchemas } from './messages.ts';

/** One JSON Schema document per event and command type (envelope included), keyed by file name. */
export function messageJsonSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    MESSAGE_TYPES.map((type) => [
      `${type}.v1.schema.json`,
      { $id: `https://orderflow.dev/schemas/${type}.v1.schema.json`, title: type, ...z.toJSONSchema(MessageSchemas[type], { io: 'input' }) },
    ]),
  );
}
