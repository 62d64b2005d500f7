import type { OrderStatus, OrderView } from '@orderflow/contracts';
import { describe, expect, it } from 'vitest';
import { emptyOrderView } from './order-projection.ts';
import { STATS_WINDOW_MINUTES, statsFrom, tallyChanges } from './order-stats.ts';

/** The figures of these orders, each counted as new. */
const summarize = (views: readonly OrderView[], now: Date) => statsFrom(tallyChanges(views.map((view) => [undefined, view] as const)), now);

const NOW = new Date('2025-03-01T10:30:45.000Z');
let n = 0;
const order = (status: OrderStatus, createdAt: string | null, total = 1000, currency = 'USD'): OrderView => ({
  ...emptyOrderView(`order-${++n}`),
  status,
  createdAt,
  total,
  currency,
});

describe('summarize', () => {
  it('given no orders, every status counts zero, 30 empty minutes, no revenue', () => {
    const stats = summarize([], NOW);
    expect(stats.countsByStatus).toEqual({
      PENDING: 0,
      INVENTORY_CONFIRMED: 0,
      PAID: 0,
      COMPLETED: 0,
      CANCELLED_NO_STOCK: 0,
      PAYMENT_FAILED: 0,
      SHIPMENT_FAILED: 0,
      CANCELLED: 0,
    });
    expect(stats.ordersPerMinute).toHaveLength(STATS_WINDOW_MINUTES);
    expect(stats.ordersPerMinute.every((m) => m.count === 0)).toBe(true);
    expect(stats.revenue).toEqual([]);
    expect(stats.totalOrders).toBe(0);
  });

  it('counts orders by status', () => {
    const stats = summarize([order('COMPLETED', null), order('COMPLETED', null), order('PAID', null), order('CANCELLED_NO_STOCK', null)], NOW);
    expect(stats.countsByStatus).toMatchObject({ COMPLETED: 2, PAID: 1, CANCELLED_NO_STOCK: 1, PENDING: 0 });
    expect(stats.totalOrders).toBe(4);
  });

  it('buckets orders by the minute they were created, over the last 30 minutes, oldest first', () => {
    const stats = summarize(
      [
        order('PENDING', '2025-03-01T10:30:01.000Z'),
        order('PENDING', '2025-03-01T10:30:44.999Z'),
        order('PENDING', '2025-03-01T10:29:59.999Z'),
        order('PENDING', '2025-03-01T10:01:00.000Z'),
        order('PENDING', '2025-03-01T10:00:59.999Z'), // 31st minute back: outside
        order('PENDING', '2025-03-01T10:31:00.000Z'), // the future: outside
        order('PENDING', null), // no OrderCreated seen yet
      ],
      NOW,
    );
    expect(stats.ordersPerMinute[0]).toEqual({ minute: '2025-03-01T10:01:00.000Z', count: 1 });
    expect(stats.ordersPerMinute.at(-2)).toEqual({ minute: '2025-03-01T10:29:00.000Z', count: 1 });
    expect(stats.ordersPerMinute.at(-1)).toEqual({ minute: '2025-03-01T10:30:00.000Z', count: 2 });
    expect(stats.ordersPerMinute.reduce((sum, m) => sum + m.count, 0)).toBe(4);
  });

  it('revenue sums the totals of COMPLETED orders only, per currency', () => {
    const stats = summarize(
      [order('COMPLETED', null, 2999), order('COMPLETED', null, 4999), order('COMPLETED', null, 500, 'EUR'), order('PAID', null, 9999), order('SHIPMENT_FAILED', null, 9999)],
      NOW,
    );
    expect(stats.revenue).toEqual([
      { currency: 'EUR', amount: 500 },
      { currency: 'USD', amount: 7998 },
    ]);
  });

  it('a changed order moves between the sums: its view before is taken out, its view after added', () => {
    const pending = order('PENDING', '2025-03-01T10:30:01.000Z', 2999);
    const paid = { ...pending, status: 'PAID' as const };
    const completed = { ...pending, status: 'COMPLETED' as const };
    const stats = statsFrom(tallyChanges([[undefined, pending], [pending, paid], [paid, completed]]), NOW);
    expect(stats.countsByStatus).toMatchObject({ PENDING: 0, PAID: 0, COMPLETED: 1 });
    expect(stats.totalOrders).toBe(1);
    expect(stats.ordersPerMinute.at(-1)?.count).toBe(1);
    expect(stats.revenue).toEqual([{ currency: 'USD', amount: 2999 }]);
  });

  it('an order whose OrderCreated arrives late moves into its creation minute then', () => {
    const early = order('PAID', null);
    const created = { ...early, createdAt: '2025-03-01T10:29:10.000Z' };
    const tally = tallyChanges([[undefined, early], [early, created]]);
    expect([...tally.ordersByMinute]).toEqual([[Date.parse('2025-03-01T10:29:00.000Z'), 1]]);
    expect([...tally.countsByStatus]).toEqual([['PAID', 1]]);
  });
});
