import type { OrderView } from '@orderflow/contracts';
import { ApiError, type Caller, type HttpRequest, mayAccessOrder } from '@orderflow/platform';
import type { IncomingMessage } from 'node:http';
import type { Projection } from '../handlers/project-events.ts';
import type { ReadModelQueries } from '../store/read-model.ts';
import { encodeCursor } from './routes.ts';

/** What the WebSocket and SSE routes share: which orders a client sees, how many may watch, how often to keep them alive. */
export interface LiveUpdateOptions {
  queries: ReadModelQueries;
  projection: Pick<Projection, 'onOrderChange'>;
  /** One for both kinds of stream, so that the bounds hold for WebSocket and SSE together. */
  connections: ConnectionLimiter;
  /** A client with more than this waiting to be sent is not reading. */
  maxBufferedBytes: number;
  /** WebSocket keepalive: a `ping` message this often. */
  pingIntervalMs?: number;
  /** SSE keepalive: a comment line this often. */
  heartbeatMs?: number;
}

/** The all-orders streams start with a snapshot of this many most recent orders; older ones are paged through GET /status. */
export const SNAPSHOT_SIZE = 50;

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
  wants(order: OrderView): boolean;
  /** Read after subscribing to changes, so that none falls between the snapshot and the updates. */
  snapshot(): Promise<Snapshot>;
}

export interface Snapshot {
  orders: OrderView[];
  /** The all-orders streams: where GET /status?before= continues below the snapshot (null: nothing older). */
  page?: { nextCursor: string | null };
}

/**
 * One order (`orderId`) or all of them (operators), oldest first so that the newest arrives
 * last. A customer may follow an order before its first event arrives; its updates reach
 * them only if the order turns out to be theirs.
 */
export function watchOf(queries: ReadModelQueries, orderId: string | undefined, caller: Caller | undefined): Watch {
  if (orderId === undefined) {
    return {
      wants: () => true,
      async snapshot() {
        const latest = await queries.page({ limit: SNAPSHOT_SIZE });
        return { orders: latest.items.reverse(), page: { nextCursor: encodeCursor(latest.nextCursor) } };
      },
    };
  }
  const wants = (order: OrderView) => order.orderId === orderId && mayAccessOrder(caller, order.customerId);
  return {
    wants,
    async snapshot() {
      const current = await queries.order(orderId);
      return { orders: current && wants(current) ? [current] : [] };
    },
  };
}

/**
 * Sends the snapshot, then every change the watch wants. Changes that commit while the
 * snapshot is read wait and follow it: an order may come twice (clients keep the view with
 * the longer timeline), but none is missed.
 */
export async function follow(
  options: Pick<LiveUpdateOptions, 'projection'>,
  watch: Watch,
  send: { order(order: OrderView): void; snapshotEnd(page: NonNullable<Snapshot['page']>, count: number): void },
): Promise<() => void> {
  let waiting: OrderView[] | undefined = [];
  const unsubscribe = options.projection.onOrderChange((order) => {
    if (!watch.wants(order)) return;
    if (waiting) waiting.push(order);
    else send.order(order);
  });
  try {
    const snapshot = await watch.snapshot();
    for (const order of snapshot.orders) send.order(order);
    if (snapshot.page) send.snapshotEnd(snapshot.page, snapshot.orders.length);
  } catch (error) {
    unsubscribe();
    throw error;
  }
  for (const order of waiting) send.order(order);
  waiting = undefined;
  return unsubscribe;
}

/** Route hook of the one-order streams: another customer's order answers 404 before the stream opens. */
export const refuseOthersOrders = (queries: ReadModelQueries) => async (request: HttpRequest<{ orderId: string }>) => {
  const current = await queries.order(request.params.orderId);
  if (current && !mayAccessOrder(request.caller, current.customerId)) {
    throw new ApiError(404, 'NOT_FOUND', `orderId: no events seen for order ${request.params.orderId}`);
  }
};
