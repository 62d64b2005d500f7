import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { STATUS_CODES } from 'node:http';
import Fastify, {
  LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyBaseLogger, type RawServerDefault, type RawRequestDefaultExpression, type RawReplyDefaultExpression } from 'fastify';
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
import { findUnstorableText } from './storable-text.ts';

/** A request to one of a service's routes, with its typed path parameters. */
export type HttpRequest<Params = unknown> = FastifyRequest<{ Params: Params }>;

export type HttpApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/**
 * Answers with JSON text that is already a valid answer, such as a document a service
 * stored itself from a typed value: sent as it is, not parsed, checked against the route's
 * schema and written again. For a page of 50 status views that was two thirds of the
 * request's CPU (measured with `npm run bench -- --history 20000`). The route's schema
 * still documents the answer; the route's tests parse it with that schema.
 */
export function sendJsonText(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}

export interface HttpServerOptions {
  service: string;
  description: string;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Named checks for /ready: each must be true for the service to take traffic. */
  readiness: () => Promise<Record<string, boolean>>;
  /** The WebSocket routes' limit on a client message (none: no WebSocket routes). */
  websocket?: { maxMessageBytes: number } | undefined;
  bodyLimit?: number;
  /** Tokens, roles, Origin and Host checks (config.auth). */
  auth: AuthSettings;
}

/** A refusal from Node's HTTP parser or Fastify's router, before any route: same shape as every other error. */
function frameworkErrorBody(error: Error & { code?: string }): { status: number; body: ErrorBody } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, body: { error: 'HEADERS_TOO_LARGE', message: 'headers: the request line and headers are larger than the server accepts' } };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, body: { error: 'REQUEST_TIMEOUT', message: 'request: not received in time' } };
    case 'FST_ERR_BAD_URL':
      return { status: 400, body: { error: 'BAD_URL', message: 'url: not a valid URL (a percent-escape that is not UTF-8?)' } };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, body: { error: 'URI_TOO_LONG', message: 'url: a path segment is longer than the server accepts' } };
    default:
      return { status: 400, body: { error: 'BAD_REQUEST', message: `request: not valid HTTP (${error.code ?? error.message})` } };
  }
}

/** The compiler factories Fastify is given: never called, as the zod compilers set on the instance replace them. */
const compiledByZod = (): never => {
  throw new Error('every route is validated and serialised by zod (setValidatorCompiler, setSerializerCompiler)');
};

/**
 * Fastify with zod validation on every route, an OpenAPI document at /openapi.json
 * and a browsable UI at /docs, /health, /ready and /metrics, access control on every route
 * (auth/access-control.ts), and one error shape:
 * `{error, message, issues?: [{field, rule, message}]}`.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // zod validates and serialises every route (set below). Without factories of our own,
    // Fastify loads its default compilers (Ajv, fast-json-stringify) that nothing then uses:
    // about a tenth of a service's start, paid by each of the cluster's processes at once.
    schemaController: { compilersFactory: { buildValidator: compiledByZod, buildSerializer: compiledByZod } },
    // Per-request lines would drown the event logs at load; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    // Errors before routing (bad URL, too long a path segment) and from the HTTP parser
    // (431, 408, malformed requests) get the documented shape, not Fastify's own.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const { status, body } = frameworkErrorBody(error);
      void reply.status(status).send(body);
    },
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const { status, body } = frameworkErrorBody(error);
      const text = JSON.stringify(body);
      if (socket.writable) {
        socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${text}`);
      }
      socket.destroy(error);
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: any other body gets a 415 rather than reaching validation as a string.
  app.removeContentTypeParser('text/plain');

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
  if (options.websocket) {
    // An invalid frame (too large, bad opcode, bad UTF-8; ws's WS_ERR_* codes) closes that
    // connection: logged once, at warn and without a stack, so that a client cannot flood
    // the log. A client that vanished is not news; anything else is a fault of ours.
    const warned = new WeakSet<object>();
    await app.register(websocket, {
      options: { maxPayload: options.websocket.maxMessageBytes },
      errorHandler: (error: Error & { code?: string }, socket, request) => {
        const code = error.code ?? '';
        if (code.startsWith('WS_ERR_')) {
          if (!warned.has(socket)) {
            warned.add(socket);
            request.log.warn({ url: request.url, ip: request.ip, code, reason: error.message }, 'websocket client sent an invalid frame; connection closed');
          }
        } else if (code === 'ECONNRESET' || code === 'EPIPE') {
          request.log.debug({ url: request.url, code }, 'websocket client went away');
        } else {
          request.log.error({ err: error, url: request.url }, 'websocket handler failed');
        }
        socket.terminate();
      },
    });
  }
  // After the WebSocket plugin: its onRequest hook must mark an upgrade first, so that a
  // refused one (401, 403) has its socket closed after the answer.
  registerAccessControl(app, options.auth, createTokenVerifier(options.auth));
  // For perClientRateLimit (rate-limit.ts): no route is limited unless it asks.
  await app.register(rateLimit, { global: false, hook: 'preHandler' });

  // Before the zod schemas run, and so before any query: text PostgreSQL could not store.
  app.addHook('preValidation', async (request) => {
    for (const [where, value] of [['params', request.params], ['querystring', request.query], ['body', request.body]] as const) {
      const field = findUnstorableText(value, where);
      if (field) {
        const message = 'must not contain NUL (U+0000) or an unpaired surrogate (U+D800 to U+DFFF)';
        throw new ApiError(400, 'VALIDATION_FAILED', `${field}: ${message}`, [{ field, rule: 'storable_text', message }]);
      }
    }
  });

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
