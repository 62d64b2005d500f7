import { z } from 'zod';

/**
 * A letter, digit, punctuation mark or symbol: what a person can see. Spaces, zero-width
 * characters (U+200B, U+200D, U+FEFF are format characters) and control characters are not.
 */
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;

/** An id a client chooses (customerId, productId): trimmed, 1 to 64 characters, at least one of them visible. */
export const ClientId = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'at most 64 characters')
  // An empty id gets one issue, "must not be empty", not this one too.
  .refine((id) => id === '' || VISIBLE.test(id), 'must contain a visible character (a letter, digit, punctuation or symbol)');
