import { type NextRequest, NextResponse } from 'next/server';
import { isServiceName, serviceUrl } from '@/lib/services';

export const dynamic = 'force-dynamic';

/**
 * Request headers worth passing on; hop-by-hop and other browser headers stay here. The
 * signed-in user's token goes on (the services decide what it may do), and so does the
 * page's Origin: the services refuse a state-changing request from another site's page.
 */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept', 'idempotency-key', 'traceparent', 'authorization', 'origin', 'sec-fetch-site'];

type Context = { params: Promise<{ service: string; path: string[] }> };

/** /api/<service>/<path> → <SERVICE_URL>/<path>: the browser's only way to the services (they send no CORS headers). */
async function proxy(request: NextRequest, context: Context): Promise<Response> {
  const { service, path } = await context.params;
  if (!isServiceName(service)) {
    return NextResponse.json({ error: 'NOT_FOUND', message: `service: no service ${service}` }, { status: 404 });
  }
  const target = `${serviceUrl(service)}/${path.map(encodeURIComponent).join('/')}${request.nextUrl.search}`;
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value) headers.set(name, value);
  }
  // An empty body is sent as none: fetch would otherwise label '' as text/plain, which the services refuse.
  const body = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text();
  try {
    const upstream = await fetch(target, {
      method: request.method,
      headers,
      body: body === '' ? undefined : body,
      cache: 'no-store',
      signal: AbortSignal.timeout(15_000),
    });
    const payload = await upstream.arrayBuffer();
    const responseHeaders = new Headers({ 'cache-control': 'no-store' });
    const type = upstream.headers.get('content-type');
    if (type) responseHeaders.set('content-type', type);
    return new Response(payload, { status: upstream.status, headers: responseHeaders });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return NextResponse.json({ error: 'SERVICE_UNAVAILABLE', message: `${service}: not reachable (${reason})` }, { status: 502 });
  }
}

export const GET = proxy;
export const POST = proxy;
export const PUT = proxy;
export const DELETE = proxy;
