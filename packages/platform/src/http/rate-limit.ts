import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-error.ts';
import type { HttpApp } from './http-server.ts';

export interface PerClientLimit {
  /** Requests one client may make per minute. */
  perMinute: number;
  /** Who the client is (a customer id), read from the request after validation. */
  key: (request: FastifyRequest) => Promise<string> | string;
  /** The field that names the client, and what is counted: `body.customerId`, `orders`. */
  field: string;
  what: string;
}

/**
 * A preHandler (@fastify/rate-limit, in-memory, one count per service process) that answers
 * 429 with Retry-After and the documented error shape once a client makes more than
 * perMinute requests. Share one between routes to count them together.
 */
export function perClientRateLimit(app: HttpApp, limit: PerClientLimit) {
  return app.rateLimit({
    max: limit.perMinute,
    timeWindow: 60_000,
    keyGenerator: limit.key,
    errorResponseBuilder: (_request, context) => {
      const message = `at most ${context.max} ${limit.what} per minute; retry in ${context.after}`;
      return new ApiError(429, 'RATE_LIMITED', `${limit.field}: ${message}`, [{ field: limit.field, rule: 'rate_limit', message }]);
    },
  });
}
