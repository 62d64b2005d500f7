import { type NextRequest, NextResponse } from 'next/server';
import { serviceUrl } from '@/lib/services';

/**
 * The status WebSocket, which the pages open straight to the status service: STATUS_PUBLIC_URL
 * when set, otherwise this host on the status service's port (as lib/runtime-config.tsx connects).
 */
function statusSocketSources(request: NextRequest): string {
  const publicUrl = process.env.STATUS_PUBLIC_URL;
  if (publicUrl) return new URL(publicUrl).origin.replace(/^http/, 'ws');
  const port = new URL(serviceUrl('status')).port || '80';
  // The host name the browser used (Host header): nextUrl's is the server's own name, which may differ.
  const host = new URL(`http://${request.headers.get('host') ?? request.nextUrl.host}`).hostname;
  return `ws://${host}:${port} wss://${host}:${port}`;
}

/**
 * A fresh nonce and Content-Security-Policy for every page: Next.js puts the nonce on the scripts
 * it writes into the page (it reads it from this request header), and no other inline script
 * runs. Pages render per request (app/layout.tsx) so that each carries its own nonce. The
 * headers every response gets, /api included, are in next.config.ts.
 */
export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64');
  const development = process.env.NODE_ENV === 'development';
  const policy = [
    "default-src 'self'",
    // React in development reconstructs server errors with eval; production needs none.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ''}`,
    `style-src 'self' 'nonce-${nonce}'`,
    // Bar widths are set as style attributes; attributes cannot run code.
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${statusSocketSources(request)}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('content-security-policy', policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('content-security-policy', policy);
  return response;
}

export const config = {
  // Pages only: /api answers JSON (its policy is in next.config.ts), and a proxy matched on /api would
  // make Next.js buffer request bodies for it; static files need no nonce.
  matcher: [{ source: '/((?!api/|_next/static/|_next/image|favicon.ico).*)' }],
};
