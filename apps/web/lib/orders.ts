import type { OrderView } from './types';

/**
 * Updates arrive at least once and a refetch can race a push: keep whichever view has
 * seen more events, so the table never moves an order backwards.
 */
export function newer(current: OrderView | undefined, incoming: OrderView): OrderView {
  if (!current) return incoming;
  return incoming.timeline.length >= current.timeline.length ? incoming : current;
}

export function mergeOrders(map: Map<string, OrderView>, incoming: Iterable<OrderView>): Map<string, OrderView> {
  const next = new Map(map);
  for (const order of incoming) next.set(order.orderId, newer(next.get(order.orderId), order));
  return next;
}

export const byNewest = (a: OrderView, b: OrderView) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.orderId.localeCompare(b.orderId);
