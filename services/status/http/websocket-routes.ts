import type { StatusSocketMessage } from '@orderflow/contracts';
import type { HttpApp } from '@orderflow/platform';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { type ConnectionLimiter, type LiveUpdateOptions, type Watch, follow, refuseOthersOrders, watchOf } from './live-updates.ts';
import { OrderIdParams } from './routes.ts';

const ClientMessage = z.object({ type: z.enum(['ping', 'pong']) });

const textOf = (raw: RawData): string =>
  Buffer.isBuffer(raw) ? raw.toString('utf8') : Array.isArray(raw) ? Buffer.concat(raw).toString('utf8') : Buffer.from(raw).toString('utf8');

/** The answer to one client message: pong to a ping, nothing to a pong, an error to anything else. */
export function answerClient(text: string): StatusSocketMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { type: 'error', message: 'message: not valid JSON; send {"type":"ping"}' };
  }
  const parsed = ClientMessage.safeParse(json);
  if (!parsed.success) return { type: 'error', message: 'message.type: expected "ping" (or "pong")' };
  return parsed.data.type === 'ping' ? { type: 'pong' } : undefined;
}

function stream(socket: WebSocket, watch: Watch, options: LiveUpdateOptions) {
  const send = (message: StatusSocketMessage) => {
    if (socket.readyState !== socket.OPEN) return;
    // Checked before each send: a client that stopped reading is dropped, not buffered for.
    if (socket.bufferedAmount > options.maxBufferedBytes) socket.terminate();
    else socket.send(JSON.stringify(message));
  };
  const keepalive = setInterval(() => send({ type: 'ping' }), options.pingIntervalMs ?? 20_000);
  socket.on('message', (raw) => {
    const reply = answerClient(textOf(raw));
    if (reply) send(reply);
  });
  let unsubscribe: (() => void) | undefined;
  let closed = false;
  socket.on('close', () => {
    closed = true;
    unsubscribe?.();
    clearInterval(keepalive);
  });
  follow(options, watch, {
    order: (order) => send({ type: 'order_update', order }),
    snapshotEnd: (page, count) => send({ type: 'snapshot', count, nextCursor: page.nextCursor }),
  }).then(
    (stop) => {
      if (closed) stop();
      else unsubscribe = stop;
    },
    () => socket.close(1011, 'snapshot unavailable'),
  );
}

/** `/ws/:orderId`: that order's updates; `/ws`: every order's, after a snapshot of the most recent. */
export function registerWebSocketRoutes(app: HttpApp, options: LiveUpdateOptions) {
  // A plain GET (no upgrade) gets a 404 and holds no stream: only upgrades count.
  const admitUpgrade = (request: Parameters<ConnectionLimiter['admit']>[0] & { ws: boolean }) => {
    if (request.ws) options.connections.admit(request);
  };
  app.get(
    '/ws/:orderId',
    {
      websocket: true,
      // A browser's WebSocket cannot send headers: the token comes as the subprotocol `bearer, <token>` (or ?access_token=).
      config: { access: 'customer', tokenOutsideHeader: true },
      preValidation: refuseOthersOrders(options.queries),
      preHandler: async (request) => admitUpgrade(request),
      schema: {
        tags: ['live'],
        summary: 'WebSocket: order_update for one order (its current view first), ping/pong, error',
        params: OrderIdParams,
      },
    },
    (socket, request) => stream(socket, watchOf(options.queries, request.params.orderId, request.caller), options),
  );
  app.get(
    '/ws',
    {
      websocket: true,
      config: { access: 'operator', tokenOutsideHeader: true },
      preHandler: async (request) => admitUpgrade(request),
      schema: { tags: ['live'], summary: 'WebSocket: order_update for every order (the 50 most recent first, then a snapshot message with the cursor to page back through GET /status), ping/pong, error (operators)' },
    },
    (socket, request) => stream(socket, watchOf(options.queries, undefined, request.caller), options),
  );
}
