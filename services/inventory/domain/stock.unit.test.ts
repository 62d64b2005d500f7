import type { OrderLine } from '@orderflow/contracts';
import { describe, expect, it } from 'vitest';
import {
  FAILURE_INJECTION_SKU,
  type ReservationState,
  type StockItem,
  decideRelease,
  decideReservation,
  stockChanges,
  triggersInjectedFailure,
} from './stock.ts';

const stockOf = (levels: Record<string, number>): ReadonlyMap<string, StockItem> =>
  new Map(Object.entries(levels).map(([productId, available]) => [productId, { productId, available }]));

const lineOf = (productId: string, quantity: number): OrderLine => ({ productId, quantity, unitPrice: 100 });

describe('decideReservation', () => {
  it('given enough stock for every line, when reserving, then every line is reserved', () => {
    const decision = decideReservation([lineOf('widget', 2), lineOf('gadget', 1)], stockOf({ widget: 10, gadget: 1, other: 5 }));

    expect(decision).toEqual({
      ok: true,
      lines: [
        { productId: 'widget', quantity: 2 },
        { productId: 'gadget', quantity: 1 },
      ],
    });
  });

  it('given exactly the stock requested, when reserving, then it is reserved down to zero', () => {
    const decision = decideReservation([lineOf('widget', 10)], stockOf({ widget: 10 }));

    expect(decision).toEqual({ ok: true, lines: [{ productId: 'widget', quantity: 10 }] });
  });

  it('given one line short of stock, when reserving, then nothing is reserved and the rejection names that line', () => {
    const decision = decideReservation([lineOf('widget', 2), lineOf('gadget', 3)], stockOf({ widget: 10, gadget: 2 }));

    expect(decision).toEqual({ ok: false, rejection: { reason: 'OUT_OF_STOCK', productId: 'gadget', requested: 3, available: 2 } });
  });

  it('given the same product on two lines that fit only one at a time, when reserving, then the second line sees what the first took', () => {
    const decision = decideReservation([lineOf('widget', 3), lineOf('widget', 3)], stockOf({ widget: 5 }));

    expect(decision).toEqual({ ok: false, rejection: { reason: 'OUT_OF_STOCK', productId: 'widget', requested: 3, available: 2 } });
  });

  it('given the same product on two lines that fit together, when reserving, then both are reserved', () => {
    const decision = decideReservation([lineOf('widget', 2), lineOf('widget', 3)], stockOf({ widget: 5 }));

    expect(decision).toEqual({
      ok: true,
      lines: [
        { productId: 'widget', quantity: 2 },
        { productId: 'widget', quantity: 3 },
      ],
    });
  });

  it('given a product the inventory does not know, when reserving, then it is rejected as UNKNOWN_PRODUCT with nothing available', () => {
    const decision = decideReservation([lineOf('widget', 1), lineOf('unicorn', 2)], stockOf({ widget: 10 }));

    expect(decision).toEqual({ ok: false, rejection: { reason: 'UNKNOWN_PRODUCT', productId: 'unicorn', requested: 2, available: 0 } });
  });

  it('given two short lines, when reserving, then the first one names the reason', () => {
    const decision = decideReservation([lineOf('widget', 11), lineOf('gadget', 9)], stockOf({ widget: 10, gadget: 0 }));

    expect(decision.ok === false && decision.rejection.productId).toBe('widget');
  });

  it('given a stock map, when reserving, then the map is not changed (the store applies the levels)', () => {
    const stock = stockOf({ widget: 5 });

    decideReservation([lineOf('widget', 5)], stock);

    expect(stock.get('widget')?.available).toBe(5);
  });
});

describe('decideRelease', () => {
  it.each<{ state: ReservationState | undefined; decision: 'release' | 'nothing' }>([
    { state: 'RESERVED', decision: 'release' },
    { state: 'REJECTED', decision: 'nothing' },
    { state: 'RELEASED', decision: 'nothing' },
    { state: undefined, decision: 'nothing' },
  ])('given a reservation in state $state, when a compensation asks for release, then $decision', ({ state, decision }) => {
    expect(decideRelease(state)).toBe(decision);
  });
});

describe('stockChanges', () => {
  it('given the same products in opposite line orders, when turned into changes, then both lock them in one order: by product id', () => {
    const forward = stockChanges([lineOf('product-2', 1), lineOf('product-10', 2), lineOf('product-1', 3)], -1);
    const backward = stockChanges([lineOf('product-1', 3), lineOf('product-10', 2), lineOf('product-2', 1)], -1);

    expect(forward).toEqual([
      { productId: 'product-1', delta: -3 },
      { productId: 'product-10', delta: -2 },
      { productId: 'product-2', delta: -1 },
    ]);
    expect(backward).toEqual(forward);
  });

  it('given a release, when turned into changes, then each product gets its quantity back', () => {
    expect(
      stockChanges(
        [
          { productId: 'widget', quantity: 2 },
          { productId: 'gadget', quantity: 1 },
        ],
        1,
      ),
    ).toEqual([
      { productId: 'gadget', delta: 1 },
      { productId: 'widget', delta: 2 },
    ]);
  });

  it('given the same product on two lines, when turned into changes, then it is changed once by their sum (one row, one lock)', () => {
    expect(stockChanges([lineOf('widget', 2), lineOf('widget', 3)], -1)).toEqual([{ productId: 'widget', delta: -5 }]);
  });

  it('given no lines, when turned into changes, then there are none', () => {
    expect(stockChanges([], 1)).toEqual([]);
  });
});

describe('triggersInjectedFailure (document 002)', () => {
  it(`given an item ${FAILURE_INJECTION_SKU} and injection on, when checked, then it triggers`, () => {
    expect(triggersInjectedFailure([lineOf('widget', 1), lineOf('FAIL', 1)], true)).toBe(true);
  });

  it('given an item FAIL and injection off, when checked, then it does not trigger', () => {
    expect(triggersInjectedFailure([lineOf('FAIL', 1)], false)).toBe(false);
  });

  it('given no FAIL item and injection on, when checked, then it does not trigger', () => {
    expect(triggersInjectedFailure([lineOf('widget', 1), lineOf('fail', 1)], true)).toBe(false);
  });
});
