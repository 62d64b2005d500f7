import { z } from 'zod';

/** The JSON value of every record: one envelope, whatever the event. */
export const EnvelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  version: z.number().int().positive(),
  /** Null only for events about no order (a restock). */
  orderId: z.string().min(1).nullable(),
  /** Event time: when the fact happened, ISO 8601 UTC. */
  occurredAt: z.iso.datetime(),
  source: z.string().min(1),
  correlationId: z.string().min(1),
  causationId: z.string().min(1).nullable(),
  data: z.unknown(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;
