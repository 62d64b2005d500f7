import type { OrderView } from '@orderflow/contracts';
import type { HttpApp } from '@orderflow/platform';
import type { ServerResponse } from 'node:http';
import { type LiveUpdateOptions, type Watch, follow, refuseOthersOrders, watchOf } from './live-updates.ts';
import { OrderIdParams } from './routes.ts';

const frame = (order: OrderView) => `event: order_update\ndata: ${JSON.stringify(order)}\n\n`;

/** Server-sent events, the alternative to the WebSocket for clients that only read. */
export function registerSseRoutes(app: HttpApp, options: LiveUpdateOptions) {
  const open = new Set<ServerResponse>();

  /** Fastify stops handling the reply (hijack); the stream is written to the raw response. */
  function stream(reply: { hijack(): void; raw: ServerResponse }, watch: Watch) {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies such as nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    const write = (chunk: string) => {
      if (res.writableLength > options.maxBufferedBytes) res.destroy();
      else res.write(chunk);
    };
    write(': connected\n\n');
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), options.heartbeatMs ?? 15_000);
    open.add(res);
    let unsubscribe: (() => void) | undefined;
    let closed = false;
    res.on('close', () => {
      closed = true;
      unsubscribe?.();
      clearInterval(heartbeat);
      open.delete(res);
    });
    follow(options, watch, {
      order: (order) => write(frame(order)),
      snapshotEnd: (page, count) => write(`event: snapshot\ndata: ${JSON.stringify({ count, nextCursor: page.nextCursor })}\n\n`),
    }).then(
      (stop) => {
        if (closed) stop();
        else unsubscribe = stop;
      },
      () => res.destroy(),
    );
  }

  // A hijacked response never ends by itself: end every stream so that closing the server does not wait for clients.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.get(
    '/events/:orderId',
    {
      // EventSource cannot send headers either: ?access_token= is accepted here.
      config: { access: 'customer', tokenOutsideHeader: true },
      preValidation: refuseOthersOrders(options.queries),
      preHandler: async (request) => options.connections.admit(request),
      schema: {
        tags: ['live'],
        summary: 'Server-sent events: order_update for one order (its current view first), a comment heartbeat every 15 s',
        params: OrderIdParams,
      },
    },
    (request, reply) => stream(reply, watchOf(options.queries, request.params.orderId, request.caller)),
  );
  app.get(
    '/events',
    {
      config: { access: 'operator', tokenOutsideHeader: true },
      preHandler: async (request) => options.connections.admit(request),
      schema: { tags: ['live'], summary: 'Server-sent events: order_update for every order (the 50 most recent first, then a snapshot event with the cursor to page back through GET /status) (operators)' },
    },
    (request, reply) => stream(reply, watchOf(options.queries, undefined, request.caller)),
  );
}
