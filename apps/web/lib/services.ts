import { SERVICE_PORTS } from '@orderflow/contracts/services';

/** Failure injection and dead letters: every service that consumes messages has them (the services allow operators only). */
const OPERATIONS_ROUTES = ['GET /admin/failure-injection', 'PUT /admin/failure-injection'] as const;
const DEAD_LETTER_ROUTES = ['GET /admin/dead-letters', 'POST /admin/dead-letters/:id/replay', 'POST /admin/dead-letters/:id/discard'] as const;

/**
 * Each service the UI reaches: the variable that says where it is (read at run time, server
 * side; unset, the service's default port in SERVICE_PORTS on this machine) and the routes its
 * proxy (/api/<service>/<path>) forwards. Only these: what the pages call and the public API a
 * customer or operator uses through the UI. Metrics, API docs and anything else stay off the
 * UI's address. Route patterns are "METHOD /path", `:name` one path segment.
 */
export const SERVICES = {
  order: { variable: 'ORDER_SERVICE_URL', routes: ['POST /orders', 'GET /orders', 'GET /orders/:orderId', 'POST /orders/:orderId/cancel', ...DEAD_LETTER_ROUTES] },
  inventory: { variable: 'INVENTORY_SERVICE_URL', routes: ['GET /inventory', 'GET /inventory/:productId', 'POST /inventory/:productId/restock', ...OPERATIONS_ROUTES, ...DEAD_LETTER_ROUTES] },
  payment: { variable: 'PAYMENT_SERVICE_URL', routes: ['GET /payments/:orderId', ...OPERATIONS_ROUTES, ...DEAD_LETTER_ROUTES] },
  notification: { variable: 'NOTIFICATION_SERVICE_URL', routes: ['GET /notifications', ...DEAD_LETTER_ROUTES] },
  shipping: { variable: 'SHIPPING_SERVICE_URL', routes: ['GET /shipments/:orderId', ...OPERATIONS_ROUTES, ...DEAD_LETTER_ROUTES] },
  status: { variable: 'STATUS_SERVICE_URL', routes: ['GET /status', 'GET /status/:orderId', 'GET /stats', 'GET /inventory', 'GET /events', 'GET /events/:orderId', ...DEAD_LETTER_ROUTES] },
} as const satisfies Partial<Record<keyof typeof SERVICE_PORTS, { variable: string; routes: readonly string[] }>>;
export type ServiceName = keyof typeof SERVICES;

export const isServiceName = (name: string): name is ServiceName => Object.hasOwn(SERVICES, name);
export const ALL_SERVICES = Object.keys(SERVICES).filter(isServiceName);

/** Server side only: the service's base URL, without a trailing slash. */
export function serviceUrl(name: ServiceName): string {
  return (process.env[SERVICES[name].variable] || `http://127.0.0.1:${SERVICE_PORTS[name].port}`).replace(/\/+$/, '');
}

/** True when `METHOD /segments` is on the service's allow-list; segments are the decoded path parts. */
export function isAllowedRoute(service: ServiceName, method: string, segments: readonly string[]): boolean {
  return SERVICES[service].routes.some((route) => {
    const [routeMethod, routePath = ''] = route.split(' ');
    const pattern = routePath.split('/').slice(1);
    return (
      routeMethod === method &&
      pattern.length === segments.length &&
      pattern.every((part, index) => (part.startsWith(':') ? (segments[index] ?? '') !== '' : part === segments[index]))
    );
  });
}
