import type { FastifyRequest } from 'fastify';
import type { AuthSettings } from '../config.ts';
import { ApiError } from '../http/api-error.ts';
import type { HttpApp } from '../http/http-server.ts';
import { type Caller, type TokenVerifier, unauthenticated } from './token-verifier.ts';

/**
 * Who may call a route, declared in its options (`config: { access: 'customer' }`):
 * - public: anyone (health, readiness, the catalog);
 * - customer: a customer, for their own orders (the handler checks ownership with
 *   assertOwnOrder), or an operator; anonymous callers too in development mode;
 * - operator: an operator token, in every mode.
 * A route that declares nothing is an operator's: forgetting to declare fails closed.
 */
export type RouteAccess = 'public' | 'customer' | 'operator';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    /**
     * Also take the token from `?access_token=` or the WebSocket subprotocol `bearer, <token>`:
     * a browser's WebSocket and EventSource cannot send an Authorization header.
     */
    tokenOutsideHeader?: boolean;
  }
  interface FastifyRequest {
    /** The verified caller; undefined for an anonymous request (or a public route, where tokens are not read). */
    caller: Caller | undefined;
  }
}

/** Probes and scrapers address a pod by its IP: these paths skip the Host check. */
const PROBE_PATHS = new Set(['/health', '/ready', '/metrics']);
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** The WebSocket subprotocol a browser offers first, followed by the token (Kubernetes' API server does the same). */
export const BEARER_SUBPROTOCOL = 'bearer';

/**
 * One onRequest hook for every service: the Host allow-list (DNS rebinding), the Origin
 * of state-changing requests (another site's page), the bearer token, and the route's
 * declared access. Ownership of an order is the route's to check (assertOwnOrder).
 */
export function registerAccessControl(app: HttpApp, settings: AuthSettings, verifier: TokenVerifier) {
  app.decorateRequest('caller', undefined);
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0] ?? '';
    if (!PROBE_PATHS.has(path)) checkHost(request, settings);
    checkOrigin(request, settings);
    // An unknown route: let the 404 answer, it reveals nothing.
    if (request.routeOptions.url === undefined) return;
    const access = request.routeOptions.config.access ?? 'operator';
    if (access === 'public') return;
    const token = bearerTokenOf(request);
    if (token !== undefined) request.caller = await verifier.verify(token);
    const caller = request.caller;
    if (access === 'customer') {
      if (caller || settings.mode === 'development') return;
      throw unauthenticated('authorization: send a bearer token (Authorization: Bearer <token>) of a customer or an operator');
    }
    if (!caller) throw unauthenticated('authorization: send a bearer token (Authorization: Bearer <token>) of an operator');
    if (caller.role !== 'operator') throw new ApiError(403, 'FORBIDDEN', `authorization: ${request.method} ${request.routeOptions.url} is for operators only`);
  });
}

function checkHost(request: FastifyRequest, settings: AuthSettings) {
  if (settings.allowedHosts.includes('*')) return;
  const hostname = (request.hostname ?? '').toLowerCase();
  if (!settings.allowedHosts.includes(hostname)) {
    throw new ApiError(403, 'HOST_NOT_ALLOWED', `host: ${hostname || '(none)'} is not one of this service's host names (ALLOWED_HOSTS)`);
  }
}

/**
 * A browser sends Origin with every cross-site POST, `no-cors` ones included: a page on
 * another site cannot change state here, even in development mode without tokens. Tools
 * (curl, other services) send no Origin and are judged by their token alone.
 */
function checkOrigin(request: FastifyRequest, settings: AuthSettings) {
  if (!STATE_CHANGING.has(request.method)) return;
  const origin = request.headers.origin;
  if (origin === undefined) {
    if (request.headers['sec-fetch-site'] === 'cross-site') throw new ApiError(403, 'CROSS_SITE_REQUEST', 'origin: a request from another site may not change state here');
    return;
  }
  const own = [`http://${request.host}`, `https://${request.host}`];
  if (!settings.allowedOrigins.includes(origin) && !own.includes(origin)) {
    throw new ApiError(403, 'CROSS_SITE_REQUEST', `origin: ${origin} may not change state here (allowed: this service and ALLOWED_ORIGINS)`);
  }
}

/** The bearer token of a request: the Authorization header, or (for live-update routes) the query or the WebSocket subprotocol. */
export function bearerTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthenticated('authorization: expected "Bearer <token>"');
    return match[1];
  }
  if (!request.routeOptions.config.tokenOutsideHeader || request.method !== 'GET') return undefined;
  const query = new URLSearchParams(request.url.split('?')[1] ?? '').get('access_token');
  if (query) return query;
  const protocols = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const at = protocols.indexOf(BEARER_SUBPROTOCOL);
  return at >= 0 ? protocols[at + 1] || undefined : undefined;
}

/**
 * A customer may see and change only their own orders; an operator every order; an
 * anonymous caller gets here only in development mode, where reads and cancels by order id
 * stay open. Another customer's order answers 404, as an unknown id does: the answer does
 * not tell anyone which order ids exist.
 */
export function mayAccessOrder(caller: Caller | undefined, ownerId: string | null): boolean {
  if (caller === undefined || caller.role === 'operator') return true;
  return ownerId !== null && caller.customerId === ownerId;
}

export function assertOwnOrder(request: FastifyRequest, ownerId: string | null, notFound: () => ApiError): void {
  if (!mayAccessOrder(request.caller, ownerId)) throw notFound();
}
