import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, {
  LogController, type FastifyInstance, type FastifyRequest, type FastifyBaseLogger, type RawServerDefault, type RawRequestDefaultExpression, type RawReplyDefaultExpression } from 'fastify';
import {
  type ZodTypeProvider,
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import { registerAccessControl } from '../auth/access-control.ts';
import { createTokenVerifier } from '../auth/token-verifier.ts';
import type { AuthSettings } from '../config.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { ApiError, ErrorBody } from './api-error.ts';

/** A request to one of a service's routes, with its typed path parameters. */
export type HttpRequest<Params = unknown> = FastifyRequest<{ Params: Params }>;

export type HttpApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

export interface HttpServerOptions {
  service: string;
  description: string;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Named checks for /ready: each must be true for the service to take traffic. */
  readiness: () => Promise<Record<string, boolean>>;
  websocket?: boolean;
  bodyLimit?: number;
  /** Tokens, roles, Origin and Host checks (config.auth). */
  auth: AuthSettings;
}

/**
 * Fastify with zod validation on every route, an OpenAPI document at /openapi.json
 * and a browsable UI at /docs, /health, /ready and /metrics, access control on every route
 * (auth/access-control.ts), and one error shape:
 * `{error, message, issues?: [{field, rule, message}]}`.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Per-request lines would drown the event logs at load; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
  }).withTypeProvider<ZodTypeProvider>();
  // JSON only: any other body gets a 415 rather than reaching validation as a string.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // Before any route: the plugins' routes (API docs) get their access here too.
  const docsAccess = options.auth.docsAccess;
  app.addHook('onRoute', (route) => {
    if (route.url === '/openapi.json' || route.url.startsWith('/docs')) route.config = { ...route.config, access: docsAccess };
  });

  await app.register(swagger, {
    openapi: { info: { title: `orderflow ${options.service} service`, description: options.description, version: '0.1.0' } },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  if (options.websocket) await app.register(websocket);
  // After the WebSocket plugin: its onRequest hook must mark an upgrade first, so that a
  // refused one (401, 403) has its socket closed after the answer.
  registerAccessControl(app, options.auth, createTokenVerifier(options.auth));

  app.setErrorHandler((error: Error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = error.validationContext ?? 'body';
      const issues = error.validation.map((v) => ({
        field: [where, ...v.instancePath.split('/').filter(Boolean)].join('.'),
        rule: v.keyword,
        message: v.message ?? 'invalid',
      }));
      return reply.status(400).send({
        error: 'VALIDATION_FAILED',
        message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
        issues,
      });
    }
    if (error instanceof ApiError) {
      if (error.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="orderflow"');
      return reply.status(error.statusCode).send(error.body());
    }
    const code = (error as { code?: string }).code;
    const statusCode = (error as { statusCode?: number }).statusCode ?? 500;
    if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error instanceof SyntaxError) {
      return reply.status(400).send({ error: 'MALFORMED_JSON', message: `body: not valid JSON (${error.message})` });
    }
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ error: 'PAYLOAD_TOO_LARGE', message: `body: larger than the limit of ${app.initialConfig.bodyLimit} bytes` });
    }
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({ error: 'UNSUPPORTED_MEDIA_TYPE', message: 'content-type: send application/json' });
    }
    if (statusCode >= 400 && statusCode < 500) {
      return reply.status(statusCode).send({ error: code ?? 'BAD_REQUEST', message: error.message });
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.status(500).send({ error: 'INTERNAL', message: 'internal error; see the service log' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  const Health = z.object({ status: z.literal('ok'), service: z.string() });
  app.get('/health', { config: { access: 'public' }, schema: { tags: ['operations'], summary: 'Liveness', response: { 200: Health } } }, async () => ({
    status: 'ok' as const,
    service: options.service,
  }));
  const Ready = z.object({ ready: z.boolean(), checks: z.record(z.string(), z.boolean()) });
  app.get(
    '/ready',
    {
      config: { access: 'public' },
      schema: { tags: ['operations'], summary: 'Readiness: database and broker reachable', response: { 200: Ready, 503: Ready } },
    },
    async (_request, reply) => {
      const checks = await options.readiness().catch(() => ({ readiness: false }));
      const ready = Object.values(checks).every(Boolean);
      return reply.status(ready ? 200 : 503).send({ ready, checks });
    },
  );
  app.get('/metrics', { config: { access: options.auth.metricsAccess }, schema: { tags: ['operations'], summary: 'Prometheus metrics', hide: true } }, async (_request, reply) => {
    reply.header('content-type', options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

export { ErrorBody };
