import { type NextRequest, NextResponse } from 'next/server';
import { isAllowedRoute, isServiceName, serviceUrl } from '@/lib/services';

export const dynamic = 'force-dynamic';

/**
 * Request headers worth passing on; hop-by-hop and other browser headers stay here. The
 * signed-in user's token goes on (the services decide what it may do), and so does the
 * page's Origin: the services refuse a state-changing request from another site's page.
 */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept', 'idempotency-key', 'traceparent', 'authorization', 'origin', 'sec-fetch-site'];
/** Response headers passed back: the body's type, and what a retried or event-stream response needs. */
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'retry-after', 'idempotent-replayed'];

/** The largest request body passed on: the UI's own requests are a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024;
/** How long the service may take to answer with its headers (an event stream then runs as long as it runs). */
const HEADERS_TIMEOUT_MS = 15_000;

type Context = { params: Promise<{ service: string; path: string[] }> };

const errorResponse = (status: number, error: string, message: string) => NextResponse.json({ error, message, issues: [] }, { status, headers: { 'cache-control': 'no-store' } });
const tooLarge = () => errorResponse(413, 'PAYLOAD_TOO_LARGE', `body: larger than the limit of ${MAX_BODY_BYTES} bytes for requests through the UI`);

class BodyTooLargeError extends Error {}

/** The request body as a stream that fails once more than MAX_BODY_BYTES have passed: nothing is held beyond one chunk. */
function limitedBody(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > MAX_BODY_BYTES) controller.error(new BodyTooLargeError());
        else controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * /api/<service>/<path> → <SERVICE_URL>/<path>: the browser's only way to the services (they send
 * no CORS headers), for the routes on the allow-list in lib/services.ts alone. Bodies stream
 * through with a size limit, and so do answers (an event stream included).
 */
async function proxy(request: NextRequest, context: Context): Promise<Response> {
  const { service, path } = await context.params;
  if (!isServiceName(service) || !isAllowedRoute(service, request.method, path)) {
    return errorResponse(404, 'NOT_FOUND', `${request.method} /api/${service}/${path.join('/')}: not a route this UI forwards`);
  }
  const declaredLength = request.headers.get('content-length');
  if (declaredLength !== null && Number(declaredLength) > MAX_BODY_BYTES) return tooLarge();

  const target = `${serviceUrl(service)}/${path.map(encodeURIComponent).join('/')}${request.nextUrl.search}`;
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value) headers.set(name, value);
  }
  // An empty body is sent as none: an empty stream would go out chunked, which the services read as a body.
  const hasBody = request.body !== null && request.method !== 'GET' && request.method !== 'HEAD' && declaredLength !== '0';
  const headersTimeout = new AbortController();
  const timer = setTimeout(() => headersTimeout.abort(new Error(`no answer within ${HEADERS_TIMEOUT_MS} ms`)), HEADERS_TIMEOUT_MS);
  try {
    // duplex 'half': a streamed request body is sent as it arrives (Node's fetch requires saying so).
    const init: RequestInit & { duplex: 'half' } = {
      method: request.method,
      headers,
      body: hasBody && request.body ? limitedBody(request.body) : undefined,
      duplex: 'half',
      cache: 'no-store',
      signal: AbortSignal.any([request.signal, headersTimeout.signal]),
    };
    const upstream = await fetch(target, init);
    const responseHeaders = new Headers({ 'cache-control': 'no-store' });
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = upstream.headers.get(name);
      if (value) responseHeaders.set(name, value);
    }
    return new Response(upstream.body, { status: upstream.status, headers: responseHeaders });
  } catch (error) {
    if (error instanceof BodyTooLargeError || (error instanceof Error && error.cause instanceof BodyTooLargeError)) return tooLarge();
    const reason = error instanceof Error ? error.message : String(error);
    return errorResponse(502, 'SERVICE_UNAVAILABLE', `${service}: not reachable (${reason})`);
  } finally {
    clearTimeout(timer);
  }
}

export const GET = proxy;
export const POST = proxy;
export const PUT = proxy;
export const DELETE = proxy;
export const PATCH = proxy;
