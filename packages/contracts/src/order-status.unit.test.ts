import { describe, expect, it } from 'vitest';
import { OrderStatus, TERMINAL_STATUSES, advanceStatus, isTerminal } from './order-status.ts';

const S = OrderStatus.enum;
const STATUSES = OrderStatus.options;
const LIVE: OrderStatus[] = [S.PENDING, S.INVENTORY_CONFIRMED, S.PAID];

const allTo = (status: OrderStatus): Record<OrderStatus, OrderStatus> => ({
  PENDING: status,
  INVENTORY_CONFIRMED: status,
  PAID: status,
  COMPLETED: status,
  CANCELLED_NO_STOCK: status,
  PAYMENT_FAILED: status,
  SHIPMENT_FAILED: status,
  CANCELLED: status,
});

/** The expected lattice, spelled out: for each current status, the status each target leads to. */
const EXPECTED: Record<OrderStatus, Record<OrderStatus, OrderStatus>> = {
  PENDING: {
    PENDING: S.PENDING,
    INVENTORY_CONFIRMED: S.INVENTORY_CONFIRMED,
    PAID: S.PAID,
    COMPLETED: S.COMPLETED,
    CANCELLED_NO_STOCK: S.CANCELLED_NO_STOCK,
    PAYMENT_FAILED: S.PAYMENT_FAILED,
    SHIPMENT_FAILED: S.SHIPMENT_FAILED,
    CANCELLED: S.CANCELLED,
  },
  INVENTORY_CONFIRMED: {
    PENDING: S.INVENTORY_CONFIRMED,
    INVENTORY_CONFIRMED: S.INVENTORY_CONFIRMED,
    PAID: S.PAID,
    COMPLETED: S.COMPLETED,
    CANCELLED_NO_STOCK: S.CANCELLED_NO_STOCK,
    PAYMENT_FAILED: S.PAYMENT_FAILED,
    SHIPMENT_FAILED: S.SHIPMENT_FAILED,
    CANCELLED: S.CANCELLED,
  },
  PAID: {
    PENDING: S.PAID,
    INVENTORY_CONFIRMED: S.PAID,
    PAID: S.PAID,
    COMPLETED: S.COMPLETED,
    CANCELLED_NO_STOCK: S.CANCELLED_NO_STOCK,
    PAYMENT_FAILED: S.PAYMENT_FAILED,
    SHIPMENT_FAILED: S.SHIPMENT_FAILED,
    CANCELLED: S.CANCELLED,
  },
  // A terminal status is final, whatever the target.
  COMPLETED: allTo(S.COMPLETED),
  CANCELLED_NO_STOCK: allTo(S.CANCELLED_NO_STOCK),
  PAYMENT_FAILED: allTo(S.PAYMENT_FAILED),
  SHIPMENT_FAILED: allTo(S.SHIPMENT_FAILED),
  CANCELLED: allTo(S.CANCELLED),
};

describe('advanceStatus', () => {
  it.each(STATUSES.flatMap((current) => STATUSES.map((target) => ({ current, target, expected: EXPECTED[current][target] }))))(
    'given $current, when asked to move to $target, then it is $expected',
    ({ current, target, expected }) => {
      expect(advanceStatus(current, target)).toBe(expected);
    },
  );

  it('given any pair, when advanced, then the result is one of the two and never moves a status back', () => {
    const rank = (s: OrderStatus) => (isTerminal(s) ? 3 : LIVE.indexOf(s));
    for (const current of STATUSES) {
      for (const target of STATUSES) {
        const result = advanceStatus(current, target);
        expect([current, target]).toContain(result);
        expect(rank(result)).toBeGreaterThanOrEqual(rank(current));
      }
    }
  });

  it('given any pair, when advanced twice with the same target, then the second step changes nothing (idempotent)', () => {
    for (const current of STATUSES) {
      for (const target of STATUSES) {
        const once = advanceStatus(current, target);
        expect(advanceStatus(once, target)).toBe(once);
      }
    }
  });
});

describe('isTerminal', () => {
  it.each(STATUSES)('given %s, when asked, then it is terminal exactly when listed in TERMINAL_STATUSES', (status) => {
    expect(isTerminal(status)).toBe(TERMINAL_STATUSES.includes(status));
  });

  it('given the statuses, when counted, then three are live and five terminal', () => {
    expect(STATUSES.filter((s) => !isTerminal(s))).toEqual(LIVE);
    expect(TERMINAL_STATUSES).toHaveLength(5);
  });
});
