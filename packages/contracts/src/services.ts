/**
 * Every service of orderflow, the environment variable (document 001's names) that sets
 * its port and the port it takes by default: the one list the platform's configuration,
 * the process runners, the web UI's proxy and the deployment tests read. (The container
 * health check, deploy/docker/healthcheck.mjs, runs without TypeScript and keeps a copy
 * that a test holds equal to this one.) No imports: the web UI loads it as it is.
 */
export const SERVICE_PORTS = {
  order: { variable: 'ORDER_SERVICE_PORT', port: 8080 },
  inventory: { variable: 'INVENTORY_SERVICE_PORT', port: 8081 },
  payment: { variable: 'PAYMENT_SERVICE_PORT', port: 8082 },
  notification: { variable: 'NOTIFICATION_SERVICE_PORT', port: 8083 },
  shipping: { variable: 'SHIPPING_SERVICE_PORT', port: 8084 },
  status: { variable: 'STATUS_SERVICE_PORT', port: 8085 },
  orchestrator: { variable: 'ORCHESTRATOR_SERVICE_PORT', port: 8086 },
  web: { variable: 'FRONTEND_PORT', port: 3000 },
} as const;
export type ServiceName = keyof typeof SERVICE_PORTS;
