// The images' HEALTHCHECK: GET http://127.0.0.1:<port><path> (default /ready), exit 0 on 2xx.
// Plain Node (no tsx, no curl in the slim image); the port is the one the service reads.
import { pathToFileURL } from 'node:url';

/** Each service's port variable and default: the same as SERVICE_PORTS in packages/platform/src/config.ts (a test keeps them equal). */
export const SERVICE_PORTS = {
  order: { variable: 'ORDER_SERVICE_PORT', port: 8080 },
  inventory: { variable: 'INVENTORY_SERVICE_PORT', port: 8081 },
  payment: { variable: 'PAYMENT_SERVICE_PORT', port: 8082 },
  notification: { variable: 'NOTIFICATION_SERVICE_PORT', port: 8083 },
  shipping: { variable: 'SHIPPING_SERVICE_PORT', port: 8084 },
  status: { variable: 'STATUS_SERVICE_PORT', port: 8085 },
  orchestrator: { variable: 'ORCHESTRATOR_SERVICE_PORT', port: 8086 },
  web: { variable: 'FRONTEND_PORT', port: 3000 },
};

/** The URL to probe for SERVICE (web: the UI's /api/config, which answers once `next start` serves). */
export function healthUrl(env, path) {
  const service = env.SERVICE;
  const entry = service ? SERVICE_PORTS[service] : undefined;
  if (!entry) throw new Error(`SERVICE=${service ?? ''}: expected one of ${Object.keys(SERVICE_PORTS).join(', ')}`);
  const port = env[entry.variable] || entry.port;
  const probe = path ?? (service === 'web' ? '/api/config' : '/ready');
  return `http://127.0.0.1:${port}${probe}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const response = await fetch(healthUrl(process.env, process.argv[2]), { signal: AbortSignal.timeout(2_500) });
    process.exit(response.ok ? 0 : 1);
  } catch (error) {
    console.error(`healthcheck: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
