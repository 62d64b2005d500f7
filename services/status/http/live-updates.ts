import type { OrderView } from '@orderflow/contracts';
import { ApiError, type Caller, type HttpRequest, mayAccessOrder } from '@orderflow/platform';
import type { IncomingMessage } from 'node:http';
import type { ReadModel } from '../store/read-model.ts';

/** What the WebSocket and SSE routes share: which orders a client sees, how many may watch, how often to keep them alive. */
export interface LiveUpdateOptions {
  readModel: ReadModel;
  /** One for both kinds of stream, so that the bounds hold for WebSocket and SSE together. */
  connections: ConnectionLimiter;
  /** A client with more than this waiting to be sent is not reading. */
  maxBufferedBytes: number;
  /** WebSocket keepalive: a `ping` message this often. */
  pingIntervalMs?: number;
  /** SSE keepalive: a comment line this often. */
  heartbeatMs?: number;
}

/** The all-orders streams start with a snapshot of this many most recent orders. */
export const SNAPSHOT_SIZE = 200;

/**
 * Bounds the open streams, in total and per client address, since each one costs memory
 * and a share of every order change. A client that reads slower than orders change is
 * disconnected (maxBufferedBytes) rather than buffered; it reconnects to a fresh snapshot.
 */
export interface ConnectionLimiter {
  /** Counts the request's connection until its socket closes, or refuses it: 429 for its address, 503 for the service. */
  admit(request: { ip: string; raw: IncomingMessage }): void;
  /** Connections open now (for tests and logs). */
  open(): number;
}

export function createConnectionLimiter(limits: { total: number; perIp: number }): ConnectionLimiter {
  const perIp = new Map<string, number>();
  let total = 0;
  return {
    admit(request) {
      const ip = request.ip;
      const fromIp = perIp.get(ip) ?? 0;
      if (fromIp >= limits.perIp) {
        throw new ApiError(429, 'TOO_MANY_CONNECTIONS', `connections: at most ${limits.perIp} live-update connections from one address; close one first`);
      }
      if (total >= limits.total) {
        throw new ApiError(503, 'TOO_MANY_CONNECTIONS', `connections: the service holds its most live-update connections (${limits.total}); try again later`);
      }
      total++;
      perIp.set(ip, fromIp + 1);
      // The socket is the stream's alone: a WebSocket after its upgrade, an SSE response that never ends.
      request.raw.socket.once('close', () => {
        total--;
        const left = (perIp.get(ip) ?? 1) - 1;
        if (left === 0) perIp.delete(ip);
        else perIp.set(ip, left);
      });
    },
    open: () => total,
  };
}

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
