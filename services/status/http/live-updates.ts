import type { OrderView } from '@orderflow/contracts';
import type { ReadModel } from '../store/read-model.ts';

/** What the WebSocket and SSE routes share: which orders a client sees and how often to keep it alive. */
export interface LiveUpdateOptions {
  readModel: ReadModel;
  /** WebSocket keepalive: a `ping` message this often. */
  pingIntervalMs?: number;
  /** SSE keepalive: a comment line this often. */
  heartbeatMs?: number;
}

/** The all-orders streams start with a snapshot of this many most recent orders. */
export const SNAPSHOT_SIZE = 200;

/**
 * A client that reads slower than orders change is disconnected rather than buffered
 * without limit; it reconnects and gets a fresh snapshot.
 */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface Watch {
  snapshot: OrderView[];
  wants(order: OrderView): boolean;
}

/** One order (`orderId`) or all of them, oldest first so that the newest arrives last. */
export function watchOf(readModel: ReadModel, orderId: string | undefined): Watch {
  if (orderId === undefined) return { snapshot: readModel.orders().slice(0, SNAPSHOT_SIZE).reverse(), wants: () => true };
  const current = readModel.order(orderId);
  return { snapshot: current ? [current] : [], wants: (order) => order.orderId === orderId };
}
