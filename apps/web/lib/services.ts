/** Server side only: where each service is, from the environment at run time. */
export const SERVICES = {
  order: { variable: 'ORDER_SERVICE_URL', fallback: 'http://127.0.0.1:8080' },
  inventory: { variable: 'INVENTORY_SERVICE_URL', fallback: 'http://127.0.0.1:8081' },
  payment: { variable: 'PAYMENT_SERVICE_URL', fallback: 'http://127.0.0.1:8082' },
  notification: { variable: 'NOTIFICATION_SERVICE_URL', fallback: 'http://127.0.0.1:8083' },
  shipping: { variable: 'SHIPPING_SERVICE_URL', fallback: 'http://127.0.0.1:8084' },
  status: { variable: 'STATUS_SERVICE_URL', fallback: 'http://127.0.0.1:8085' },
} as const;
export type ServiceName = keyof typeof SERVICES;

export const isServiceName = (name: string): name is ServiceName => Object.hasOwn(SERVICES, name);

export function serviceUrl(name: ServiceName): string {
  const { variable, fallback } = SERVICES[name];
  return (process.env[variable] || fallback).replace(/\/+$/, '');
}
