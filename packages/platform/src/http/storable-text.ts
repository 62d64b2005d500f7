/** NUL, a high surrogate not followed by a low one, or a low one not preceded by a high one (String#isWellFormed is ES2024). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text PostgreSQL cannot store: NUL (U+0000), and a UTF-16 surrogate without its pair
 * (JSON's "\ud800" escape), which has no UTF-8 form. SQLite would store both, so the
 * answer would depend on the database; refusing them at the edge keeps it the same.
 */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/**
 * The path (`body.items.0.productId`) of the first string, or object key, in a parsed
 * request part that is not storable text; undefined when every one is.
 */
export function findUnstorableText(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorableText(item, `${path}.${index}`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (!isStorableText(key)) return `${path}.${JSON.stringify(key).slice(1, -1)}`;
      const found = findUnstorableText(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}
