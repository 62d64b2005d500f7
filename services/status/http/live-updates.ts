import type { OrderView } from '@orderflow/contracts';
import { ApiError, type Caller, type HttpRequest, mayAccessOrder } from '@orderflow/platform';
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

/**
 * One order (`orderId`) or all of them (operators), oldest first so that the newest arrives
 * last. A customer may follow an order before its first event arrives; its updates reach
 * them only if the order turns out to be theirs.
 */
export function watchOf(readModel: ReadModel, orderId: string | undefined, caller: Caller | undefined): Watch {
  if (orderId === undefined) return { snapshot: readModel.orders().slice(0, SNAPSHOT_SIZE).reverse(), wants: () => true };
  const wants = (order: OrderView) => order.orderId === orderId && mayAccessOrder(caller, order.customerId);
  const current = readModel.order(orderId);
  return { snapshot: current && wants(current) ? [current] : [], wants };
}

/** Route hook of the one-order streams: another customer's order answers 404 before the stream opens. */
export const refuseOthersOrders = (readModel: ReadModel) => async (request: HttpRequest<{ orderId: string }>) => {
  const current = readModel.order(request.params.orderId);
  if (current && !mayAccessOrder(request.caller, current.customerId)) {
    throw new ApiError(404, 'NOT_FOUND', `orderId: no events seen for order ${request.params.orderId}`);
  }
};
