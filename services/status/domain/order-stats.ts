import type { OrderStatus, OrderView } from '@orderflow/contracts';

export interface OrderStats {
  countsByStatus: Record<OrderStatus, number>;
  /** Oldest minute first; the last bucket is the current minute. */
  ordersPerMinute: { minute: string; count: number }[];
  /** Total of completed orders per currency, in minor units. */
  revenue: { currency: string; amount: number }[];
  totalOrders: number;
}

export const STATS_WINDOW_MINUTES = 30;
const MINUTE_MS = 60_000;

/**
 * The figures as sums the read model keeps in tables: orders per status, per creation
 * minute (epoch ms of its start) and completed revenue per currency. Each order's change
 * adds its view after and takes out its view before, so the sums never need all orders.
 */
export interface StatsTally {
  countsByStatus: Map<OrderStatus, number>;
  ordersByMinute: Map<number, number>;
  revenue: Map<string, number>;
}

const add = <K>(map: Map<K, number>, key: K, delta: number) => map.set(key, (map.get(key) ?? 0) + delta);
export const minuteOf = (iso: string): number => Math.floor(Date.parse(iso) / MINUTE_MS) * MINUTE_MS;

/** What order changes (view before, undefined for a new order; view after) add to the tally. Zero sums are left out. */
export function tallyChanges(changes: Iterable<readonly [OrderView | undefined, OrderView]>): StatsTally {
  const tally: StatsTally = { countsByStatus: new Map(), ordersByMinute: new Map(), revenue: new Map() };
  const count = (view: OrderView, sign: 1 | -1) => {
    add(tally.countsByStatus, view.status, sign);
    if (view.createdAt !== null) add(tally.ordersByMinute, minuteOf(view.createdAt), sign);
    if (view.status === 'COMPLETED') add(tally.revenue, view.currency, sign * view.total);
  };
  for (const [before, after] of changes) {
    if (before) count(before, -1);
    count(after, 1);
  }
  for (const map of [tally.countsByStatus, tally.ordersByMinute, tally.revenue] as Map<unknown, number>[]) {
    for (const [key, value] of map) if (value === 0) map.delete(key);
  }
  return tally;
}

/** The first minute statsFrom shows at `now`: older minutes need not be read. */
export const firstStatsMinute = (now: Date): number => Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS - (STATS_WINDOW_MINUTES - 1) * MINUTE_MS;

/** Dashboard figures from the tally; `now` is injected so this stays pure. */
export function statsFrom(tally: StatsTally, now: Date): OrderStats {
  const countsByStatus: Record<OrderStatus, number> = {
    PENDING: 0,
    INVENTORY_CONFIRMED: 0,
    PAID: 0,
    COMPLETED: 0,
    CANCELLED_NO_STOCK: 0,
    PAYMENT_FAILED: 0,
    SHIPMENT_FAILED: 0,
    CANCELLED: 0,
  };
  let totalOrders = 0;
  for (const [status, count] of tally.countsByStatus) {
    countsByStatus[status] += count;
    totalOrders += count;
  }
  const firstMinute = firstStatsMinute(now);
  const ordersPerMinute = Array.from({ length: STATS_WINDOW_MINUTES }, (_, i) => {
    const minute = firstMinute + i * MINUTE_MS;
    return { minute: new Date(minute).toISOString(), count: tally.ordersByMinute.get(minute) ?? 0 };
  });
  return {
    countsByStatus,
    ordersPerMinute,
    revenue: [...tally.revenue].map(([currency, amount]) => ({ currency, amount })).sort((a, b) => a.currency.localeCompare(b.currency)),
    totalOrders,
  };
}
