import { describe, expect, it } from 'vitest';
import { MAX_QUANTITY_PER_LINE, type OrderRequest, type PriceList, type RequestedLine, priceOrder } from './place-order.ts';

const PRICES: PriceList = new Map([
  ['widget', { unitPrice: 2999 }],
  ['gadget', { unitPrice: 1250 }],
  ['free-sticker', { unitPrice: 0 }],
]);

const line = (index: number, productId: string, quantity: number, clientPrice?: number): RequestedLine => ({
  productId,
  quantity,
  clientPrice,
  field: `body.items.${index}`,
});

const request = (items: RequestedLine[], currency?: string): OrderRequest => ({ customerId: 'customer-1', items, currency });

describe('priceOrder', () => {
  describe('totals', () => {
    it('given known products, when priced, then each line carries the catalog unit price and the total is in minor units', () => {
      const result = priceOrder(request([line(0, 'widget', 3), line(1, 'gadget', 2)]), PRICES, 'USD');

      expect(result).toEqual({
        ok: true,
        order: {
          customerId: 'customer-1',
          items: [
            { productId: 'widget', quantity: 3, unitPrice: 2999 },
            { productId: 'gadget', quantity: 2, unitPrice: 1250 },
          ],
          total: 3 * 2999 + 2 * 1250,
          currency: 'USD',
        },
      });
    });

    it('given a free product, when priced, then its line is accepted and adds nothing to the total', () => {
      const result = priceOrder(request([line(0, 'free-sticker', 5), line(1, 'gadget', 1)]), PRICES, 'USD');

      expect(result.ok && result.order.total).toBe(1250);
    });

    it('given no currency in the request, when priced, then the catalog currency is used', () => {
      const result = priceOrder(request([line(0, 'widget', 1)]), PRICES, 'JPY');

      expect(result.ok && result.order.currency).toBe('JPY');
    });

    it('given the catalog currency in the request, when priced, then it is accepted', () => {
      expect(priceOrder(request([line(0, 'widget', 1)], 'USD'), PRICES, 'USD').ok).toBe(true);
    });
  });

  describe('duplicate lines', () => {
    it('given the same product on two lines, when priced, then they merge into one line with the summed quantity', () => {
      const result = priceOrder(request([line(0, 'widget', 2), line(1, 'gadget', 1), line(2, 'widget', 3)]), PRICES, 'USD');

      expect(result).toEqual({
        ok: true,
        order: {
          customerId: 'customer-1',
          items: [
            { productId: 'widget', quantity: 5, unitPrice: 2999 },
            { productId: 'gadget', quantity: 1, unitPrice: 1250 },
          ],
          total: 5 * 2999 + 1250,
          currency: 'USD',
        },
      });
    });

    it('given two lines of one product whose sum exceeds the maximum, when priced, then the line that crosses it is reported', () => {
      const result = priceOrder(request([line(0, 'widget', 600), line(1, 'widget', 401)]), PRICES, 'USD');

      expect(result).toEqual({
        ok: false,
        issues: [{ field: 'body.items.1.quantity', rule: 'max_quantity', message: `at most ${MAX_QUANTITY_PER_LINE} of one product per order` }],
      });
    });

    it('given two lines of one product summing to exactly the maximum, when priced, then it is accepted', () => {
      const result = priceOrder(request([line(0, 'widget', 600), line(1, 'widget', 400)]), PRICES, 'USD');

      expect(result.ok && result.order.items).toEqual([{ productId: 'widget', quantity: MAX_QUANTITY_PER_LINE, unitPrice: 2999 }]);
    });
  });

  describe('rejections', () => {
    it('given a product not in the catalog, when priced, then the issue names the line productId field', () => {
      const result = priceOrder(request([line(0, 'widget', 1), line(1, 'unicorn', 1)]), PRICES, 'USD');

      expect(result).toEqual({
        ok: false,
        issues: [{ field: 'body.items.1.productId', rule: 'known_product', message: 'no product "unicorn" in the catalog' }],
      });
    });

    it('given a client price that differs from the catalog (documents 003/004), when priced, then the issue names the price field', () => {
      const result = priceOrder(request([line(0, 'widget', 1, 1999)]), PRICES, 'USD');

      expect(result).toEqual({
        ok: false,
        issues: [
          {
            field: 'body.items.0.price',
            rule: 'catalog_price',
            message: '1999 does not match the catalog price 2999 (minor units) of widget',
          },
        ],
      });
    });

    it('given a client price equal to the catalog price, when priced, then it is accepted and the catalog price is used', () => {
      const result = priceOrder(request([line(0, 'widget', 2, 2999)]), PRICES, 'USD');

      expect(result.ok && result.order.total).toBe(5998);
    });

    it('given the single-product shape (document 004, field "body") with a wrong price, when priced, then the issue is on body.price', () => {
      const result = priceOrder(
        { customerId: 'customer-1', items: [{ productId: 'widget', quantity: 1, clientPrice: 1, field: 'body' }] },
        PRICES,
        'USD',
      );

      expect(result.ok === false && result.issues.map((issue) => issue.field)).toEqual(['body.price']);
    });

    it('given a currency other than the catalog currency, when priced, then the issue is on body.currency', () => {
      const result = priceOrder(request([line(0, 'widget', 1)], 'EUR'), PRICES, 'USD');

      expect(result).toEqual({
        ok: false,
        issues: [{ field: 'body.currency', rule: 'catalog_currency', message: "must be USD, the catalog's currency" }],
      });
    });

    it('given a single line over the maximum quantity, when priced, then max_quantity is reported on its quantity field', () => {
      const result = priceOrder(request([line(0, 'widget', MAX_QUANTITY_PER_LINE + 1)]), PRICES, 'USD');

      expect(result.ok === false && result.issues).toEqual([
        { field: 'body.items.0.quantity', rule: 'max_quantity', message: 'at most 1000 of one product per order' },
      ]);
    });

    it('given exactly the maximum quantity on one line, when priced, then it is accepted', () => {
      expect(priceOrder(request([line(0, 'widget', MAX_QUANTITY_PER_LINE)]), PRICES, 'USD').ok).toBe(true);
    });

    it('given several problems, when priced, then every one is reported with its field and rule', () => {
      const result = priceOrder(
        request([line(0, 'unicorn', 1), line(1, 'widget', 1, 5), line(2, 'gadget', 1001), line(3, 'widget', 1)], 'EUR'),
        PRICES,
        'USD',
      );

      expect(result.ok === false && result.issues.map(({ field, rule }) => ({ field, rule }))).toEqual([
        { field: 'body.currency', rule: 'catalog_currency' },
        { field: 'body.items.0.productId', rule: 'known_product' },
        { field: 'body.items.1.price', rule: 'catalog_price' },
        { field: 'body.items.2.quantity', rule: 'max_quantity' },
      ]);
    });
  });
});
