import { describe, expect, it } from 'vitest';
import { OrderRequestBody, toOrderRequest } from './order-request.ts';

/** Parses a body and maps it, failing the test with the issues if the body is rejected. */
function accepted(body: unknown) {
  const parsed = OrderRequestBody.safeParse(body);
  if (!parsed.success) throw new Error(`expected the body to be accepted: ${parsed.error.message}`);
  return toOrderRequest(parsed.data);
}

/** The issues of a rejected body as `path: message`. */
function rejected(body: unknown): string[] {
  const parsed = OrderRequestBody.safeParse(body);
  if (parsed.success) throw new Error(`expected the body to be rejected: ${JSON.stringify(parsed.data)}`);
  return parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('OrderRequestBody + toOrderRequest: the four request shapes', () => {
  it('given our shape {customerId, items:[{productId, quantity}]}, when mapped, then each line keeps its field path', () => {
    const request = accepted({ customerId: 'customer-1', items: [{ productId: 'widget', quantity: 2 }, { productId: 'gadget', quantity: 1 }] });

    expect(request).toEqual({
      customerId: 'customer-1',
      items: [
        { productId: 'widget', quantity: 2, clientPrice: undefined, field: 'body.items.0' },
        { productId: 'gadget', quantity: 1, clientPrice: undefined, field: 'body.items.1' },
      ],
      currency: undefined,
    });
  });

  it('given document 002 {userId:42, items:[{sku, qty}]}, when mapped, then userId becomes the customer id and sku/qty the line', () => {
    const request = accepted({ userId: 42, items: [{ sku: 'ABC-001', qty: 2 }] });

    expect(request).toEqual({
      customerId: '42',
      items: [{ productId: 'ABC-001', quantity: 2, clientPrice: undefined, field: 'body.items.0' }],
      currency: undefined,
    });
  });

  it('given document 003 {userId, items:[{productId, quantity, price}]}, when mapped, then the price is kept as the client price', () => {
    const request = accepted({ userId: 'user-7', items: [{ productId: 'widget', quantity: 3, price: 2999 }] });

    expect(request).toEqual({
      customerId: 'user-7',
      items: [{ productId: 'widget', quantity: 3, clientPrice: 2999, field: 'body.items.0' }],
      currency: undefined,
    });
  });

  it('given document 004 {userId, productId, quantity, price}, when mapped, then it is one line whose field is the body', () => {
    const request = accepted({ userId: 'user-7', productId: 'widget', quantity: 1, price: 2999 });

    expect(request).toEqual({
      customerId: 'user-7',
      items: [{ productId: 'widget', quantity: 1, clientPrice: 2999, field: 'body' }],
      currency: undefined,
    });
  });

  it('given a currency, when mapped, then it is passed on for the catalog check', () => {
    expect(accepted({ customerId: 'c', currency: 'USD', items: [{ productId: 'widget', quantity: 1 }] }).currency).toBe('USD');
  });

  it('given ids padded with spaces, when mapped, then they are trimmed', () => {
    const request = accepted({ customerId: '  customer-1 ', items: [{ productId: ' widget ', quantity: 1 }] });

    expect(request.customerId).toBe('customer-1');
    expect(request.items[0]?.productId).toBe('widget');
  });

  it('given a numeric product id, when mapped, then it becomes a string', () => {
    expect(accepted({ userId: 1, items: [{ sku: 123, qty: 1 }] }).items[0]?.productId).toBe('123');
  });
});

describe('OrderRequestBody rejections name the field', () => {
  it('given no customerId nor userId, when parsed, then customerId is required', () => {
    expect(rejected({ items: [{ productId: 'widget', quantity: 1 }] })).toEqual(['customerId: is required (or userId)']);
  });

  it('given an empty body, when parsed, then both customer and items are reported', () => {
    expect(rejected({})).toEqual(['customerId: is required (or userId)', 'items: is required']);
  });

  it('given an empty customer id, when parsed, then it must not be empty', () => {
    expect(rejected({ customerId: '   ', items: [{ productId: 'widget', quantity: 1 }] })).toEqual(['customerId: must not be empty']);
  });

  it('given a customer id of invisible characters only (zero-width space, joiner, BOM), when parsed, then it needs a visible one', () => {
    const needsVisible = 'customerId: must contain a visible character (a letter, digit, punctuation or symbol)';
    for (const customerId of ['\u200b', '\u200d\ufeff', ' \u200b '])
      expect(rejected({ customerId, items: [{ productId: 'widget', quantity: 1 }] })).toEqual([needsVisible]);
    expect(rejected({ customerId: 'c', items: [{ productId: '\u200b', quantity: 1 }] })).toEqual([
      'items.0.productId: must contain a visible character (a letter, digit, punctuation or symbol)',
    ]);
  });

  it('given empty items, when parsed, then items must have at least one item', () => {
    expect(rejected({ customerId: 'c', items: [] })).toEqual(['items: must have at least one item']);
  });

  it('given 101 items, when parsed, then items are limited to 100', () => {
    const items = Array.from({ length: 101 }, () => ({ productId: 'widget', quantity: 1 }));

    expect(rejected({ customerId: 'c', items })).toEqual(['items: at most 100 items']);
  });

  it.each([
    { quantity: 0, message: 'must be at least 1' },
    { quantity: -3, message: 'must be at least 1' },
    { quantity: 1.5, message: 'must be a whole number' },
    { quantity: '2', message: 'must be a number' },
  ])('given a line quantity of $quantity, when parsed, then items.0.quantity $message', ({ quantity, message }) => {
    expect(rejected({ customerId: 'c', items: [{ productId: 'widget', quantity }] })).toEqual([`items.0.quantity: ${message}`]);
  });

  it.each([
    { qty: 0, message: 'must be at least 1' },
    { qty: 2.5, message: 'must be a whole number' },
  ])('given a document 002 qty of $qty, when parsed, then items.0.qty $message', ({ qty, message }) => {
    expect(rejected({ userId: 42, items: [{ sku: 'ABC-001', qty }] })).toEqual([`items.0.qty: ${message}`]);
  });

  it.each([
    { quantity: 0, message: 'must be at least 1' },
    { quantity: 0.5, message: 'must be a whole number' },
  ])('given a document 004 quantity of $quantity, when parsed, then quantity $message', ({ quantity, message }) => {
    expect(rejected({ userId: 'u', productId: 'widget', quantity, price: 2999 })).toEqual([`quantity: ${message}`]);
  });

  it('given document 004 without a quantity, when parsed, then quantity is required with productId', () => {
    expect(rejected({ userId: 'u', productId: 'widget', price: 2999 })).toEqual(['quantity: is required with productId']);
  });

  it('given a line without productId nor sku, when parsed, then the line productId is required', () => {
    expect(rejected({ customerId: 'c', items: [{ quantity: 1 }] })).toEqual(['items.0.productId: is required (or sku)']);
  });

  it('given a line without quantity nor qty, when parsed, then the line quantity is required', () => {
    expect(rejected({ customerId: 'c', items: [{ productId: 'widget' }] })).toEqual(['items.0.quantity: is required (or qty)']);
  });

  it('given a fractional line price, when parsed, then items.0.price must be whole minor units', () => {
    expect(rejected({ userId: 'u', items: [{ productId: 'widget', quantity: 1, price: 29.99 }] })).toEqual([
      'items.0.price: must be a whole number of minor units',
    ]);
  });

  it('given a negative top-level price, when parsed, then the issue is on price', () => {
    expect(rejected({ userId: 'u', productId: 'widget', quantity: 1, price: -1 })).toEqual([expect.stringMatching(/^price: /)]);
  });

  it('given a lowercase currency, when parsed, then currency must be an ISO 4217 code', () => {
    expect(rejected({ customerId: 'c', currency: 'usd', items: [{ productId: 'widget', quantity: 1 }] })).toEqual([
      'currency: must be an ISO 4217 code such as USD',
    ]);
  });

  it.each([
    { field: 'customerId', body: { customerId: true, items: [{ productId: 'widget', quantity: 1 }] } },
    { field: 'customerId', body: { customerId: -1, items: [{ productId: 'widget', quantity: 1 }] } },
    { field: 'userId', body: { userId: { id: 1 }, items: [{ productId: 'widget', quantity: 1 }] } },
    { field: 'items', body: { customerId: 'c', items: 'widget' } },
    { field: 'items.0', body: { customerId: 'c', items: ['widget'] } },
    { field: 'items.0.productId', body: { customerId: 'c', items: [{ productId: null, quantity: 1 }] } },
    { field: 'items.0.sku', body: { customerId: 'c', items: [{ sku: ['ABC'], qty: 1 }] } },
  ])('given a wrong type for $field, when parsed, then the issue path is $field', ({ field, body }) => {
    const issues = rejected(body);

    expect(issues).toEqual([expect.stringMatching(new RegExp(`^${field.replaceAll('.', '\\.')}: `))]);
  });

  it('given a bad customer and a bad line together, when parsed, then both are reported', () => {
    expect(rejected({ items: [{ productId: 'widget', quantity: 0 }] })).toEqual([
      'items.0.quantity: must be at least 1',
      'customerId: is required (or userId)',
    ]);
  });
});
