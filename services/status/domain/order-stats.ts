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

/** Dashboard figures over the read model; `now` is injected so this stays pure. */
export function summarize(views: Iterable<OrderView>, now: Date): OrderStats {
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
  const firstMinute = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS - (STATS_WINDOW_MINUTES - 1) * MINUTE_MS;
  const perMinute = Array.from({ length: STATS_WINDOW_MINUTES }, () => 0);
  const revenue = new Map<string, number>();
  let totalOrders = 0;

  for (const view of views) {
    totalOrders++;
    countsByStatus[view.status]++;
    if (view.createdAt !== null) {
      const bucket = Math.floor((Date.parse(view.createdAt) - firstMinute) / MINUTE_MS);
      if (bucket >= 0 && bucket < STATS_WINDOW_MINUTES) perMinute[bucket] = (perMinute[bucket] ?? 0) + 1;
    }
    if (view.status === 'COMPLETED') revenue.set(view.currency, (revenue.get(view.currency) ?? 0) + view.total);
  }

  return {
    countsByStatus,
    ordersPerMinute: perMinute.map((count, i) => ({ minute: new Date(firstMinute + i * MINUTE_MS).toISOString(), count })),
    revenue: [...revenue].map(([currency, amount]) => ({ currency, amount })).sort((a, b) => a.currency.localeCompare(b.currency)),
    totalOrders,
  };
}
