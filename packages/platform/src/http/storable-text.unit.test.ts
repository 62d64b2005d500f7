import { describe, expect, it } from 'vitest';
import { findUnstorableText, isStorableText } from './storable-text.ts';

describe('storable text: what PostgreSQL can hold in a text column', () => {
  it('given ordinary text, emoji (a surrogate pair) and accents, then it is storable', () => {
    for (const text of ['', 'customer-1', '😀', 'café', 'ｶﾀｶﾅ', '\u200b']) expect(isStorableText(text), JSON.stringify(text)).toBe(true);
  });

  it('given NUL or a surrogate without its pair, then it is not', () => {
    for (const text of ['\u0000', 'a\u0000b', '\ud800', 'a\udc00', '\udc00\ud800', '😀'.slice(0, 1)]) {
      expect(isStorableText(text), JSON.stringify(text)).toBe(false);
    }
  });

  it('given a request part, then the first unstorable string or key is named by its path', () => {
    expect(findUnstorableText({ customerId: 'ok', items: [{ productId: 'p', quantity: 1 }] }, 'body')).toBeUndefined();
    expect(findUnstorableText({ customerId: 'ok', items: [{ productId: 'p' }, { productId: 'p\u0000' }] }, 'body')).toBe('body.items.1.productId');
    expect(findUnstorableText({ 'a\u0000': 1 }, 'body')).toBe('body.a\\u0000');
    expect(findUnstorableText('\ud800', 'params.orderId')).toBe('params.orderId');
    expect(findUnstorableText(null, 'body')).toBeUndefined();
  });
});
