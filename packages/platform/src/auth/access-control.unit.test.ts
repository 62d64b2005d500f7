import { ApiError } from '../http/api-error.ts';
import { type HttpApp, createHttpServer } from '../http/http-server.ts';
import { type AuthSettings, loadConfig } from '../config.ts';
import { createRootLogger } from '../logging.ts';
import { createServiceMetrics } from '../metrics.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertOwnOrder } from './access-control.ts';
import { type DevIssuer, requestDevToken, startDevIssuer } from './dev-issuer.ts';
import { callerOf, rolesOf } from './token-verifier.ts';

/**
 * The rules every service applies, on a small app with one route per kind of access,
 * verified against real tokens from the development issuer (its JWKS fetched over HTTP).
 */
let issuer: DevIssuer;
let otherIssuer: DevIssuer;
const tokens: Record<'alice' | 'bob' | 'operator' | 'foreign', string> = { alice: '', bob: '', operator: '', foreign: '' };
const apps: HttpApp[] = [];

const ORDERS: Record<string, string> = { 'order-a': 'alice', 'order-b': 'bob' };

async function appWith(overrides: Partial<AuthSettings> & { mode: AuthSettings['mode'] }): Promise<HttpApp> {
  const auth = { ...loadConfig({ AUTH_ISSUER: issuer.url }).auth, ...overrides };
  const app = await createHttpServer({
    service: 'order',
    description: 'access control under test',
    logger: createRootLogger({ logLevel: 'silent', logFormat: 'json' }),
    metrics: createServiceMetrics('order'),
    readiness: async () => ({}),
    auth,
  });
  app.get('/catalog', { config: { access: 'public' } }, async () => ({ ok: true }));
  app.get('/orders/:orderId', { config: { access: 'customer' }, schema: { params: z.object({ orderId: z.string() }) } }, async (request) => {
    const notFound = () => new ApiError(404, 'NOT_FOUND', `orderId: no order ${request.params.orderId}`);
    const owner = ORDERS[request.params.orderId];
    if (!owner) throw notFound();
    assertOwnOrder(request, owner, notFound);
    return { orderId: request.params.orderId, caller: request.caller ?? null };
  });
  app.post('/orders/:orderId/cancel', { config: { access: 'customer' } }, async () => ({ cancelled: true }));
  app.get('/live', { config: { access: 'customer', tokenOutsideHeader: true } }, async (request) => ({ caller: request.caller ?? null }));
  app.get('/undeclared', async () => ({ ok: true }));
  app.put('/admin/switch', { config: { access: 'operator' } }, async () => ({ switched: true }));
  apps.push(app);
  return app;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  issuer = await startDevIssuer({ dataDir: ':memory:', host: '127.0.0.1', port: 0 });
  otherIssuer = await startDevIssuer({ dataDir: ':memory:', host: '127.0.0.1', port: 0 });
  tokens.alice = await requestDevToken(issuer.url, { role: 'customer', subject: 'alice' });
  tokens.bob = await requestDevToken(issuer.url, { role: 'customer', subject: 'bob' });
  tokens.operator = await requestDevToken(issuer.url, { role: 'operator' });
  tokens.foreign = await requestDevToken(otherIssuer.url, { role: 'operator' });
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await issuer.stop();
  await otherIssuer.stop();
});

describe('production mode', () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await appWith({ mode: 'production' });
  });

  it('an anonymous caller gets the public routes and /health, and 401 with WWW-Authenticate elsewhere', async () => {
    expect((await app.inject({ url: '/catalog' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    for (const [method, url] of [['GET', '/orders/order-a'], ['POST', '/orders/order-a/cancel'], ['PUT', '/admin/switch'], ['GET', '/undeclared']] as const) {
      const response = await app.inject({ method, url });
      expect(response.statusCode, `${method} ${url}`).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="orderflow"');
      expect(response.json()).toMatchObject({ error: 'UNAUTHENTICATED', message: expect.stringMatching(/^authorization: /) });
    }
  });

  it('a customer reads their own order, gets 404 for another customer\'s, and 403 on operator routes', async () => {
    const own = await app.inject({ url: '/orders/order-a', headers: bearer(tokens.alice) });
    expect(own.statusCode).toBe(200);
    expect(own.json().caller).toEqual({ role: 'customer', customerId: 'alice' });
    const other = await app.inject({ url: '/orders/order-b', headers: bearer(tokens.alice) });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toEqual({ error: 'NOT_FOUND', message: 'orderId: no order order-b' });
    const admin = await app.inject({ method: 'PUT', url: '/admin/switch', headers: bearer(tokens.alice) });
    expect(admin.statusCode).toBe(403);
    expect(admin.json()).toEqual({ error: 'FORBIDDEN', message: 'authorization: PUT /admin/switch is for operators only' });
    expect((await app.inject({ url: '/undeclared', headers: bearer(tokens.alice) })).statusCode).toBe(403);
  });

  it('an operator gets every route and every order', async () => {
    for (const url of ['/orders/order-a', '/orders/order-b', '/undeclared']) {
      expect((await app.inject({ url, headers: bearer(tokens.operator) })).statusCode, url).toBe(200);
    }
    expect((await app.inject({ method: 'PUT', url: '/admin/switch', headers: bearer(tokens.operator) })).statusCode).toBe(200);
  });

  it('refuses a token of another issuer, a tampered one, and a malformed Authorization header', async () => {
    const foreign = await app.inject({ url: '/orders/order-a', headers: bearer(tokens.foreign) });
    expect(foreign.statusCode).toBe(401);
    expect(foreign.json().message).toMatch(/^authorization: the bearer token is not valid/);
    const [header, payload, signature] = tokens.alice.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = [header, Buffer.from(JSON.stringify({ ...claims, sub: 'bob' })).toString('base64url'), signature].join('.');
    expect((await app.inject({ url: '/orders/order-b', headers: bearer(forged) })).statusCode).toBe(401);
    const basic = await app.inject({ url: '/orders/order-a', headers: { authorization: 'Basic YWxpY2U6eA==' } });
    expect(basic.statusCode).toBe(401);
    expect(basic.json().message).toBe('authorization: expected "Bearer <token>"');
  });

  it('takes the token from the query or the WebSocket subprotocol only on routes that declare it', async () => {
    const query = await app.inject({ url: `/live?access_token=${tokens.bob}` });
    expect(query.json().caller).toEqual({ role: 'customer', customerId: 'bob' });
    const subprotocol = await app.inject({ url: '/live', headers: { 'sec-websocket-protocol': `bearer, ${tokens.alice}` } });
    expect(subprotocol.json().caller).toEqual({ role: 'customer', customerId: 'alice' });
    expect((await app.inject({ url: `/orders/order-b?access_token=${tokens.bob}` })).statusCode).toBe(401);
  });

  it('checks the audience when one is configured', async () => {
    const strict = await appWith({ mode: 'production', audience: 'another-api' });
    const response = await strict.inject({ url: '/orders/order-a', headers: bearer(tokens.alice) });
    expect(response.statusCode).toBe(401);
    expect(response.json().message).toMatch(/aud/);
  });

  it('answers 503 when the issuer cannot be reached', async () => {
    const unreachable = await appWith({ mode: 'production', issuer: 'http://127.0.0.1:9/', jwksUrl: undefined });
    const response = await unreachable.inject({ url: '/orders/order-a', headers: bearer(tokens.alice) });
    expect(response.statusCode).toBe(503);
    expect(response.json().error).toBe('ISSUER_UNAVAILABLE');
  });
});

describe('development mode', () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await appWith({ mode: 'development' });
  });

  it('reads and cancels by order id without a token, but operator routes still need an operator', async () => {
    expect((await app.inject({ url: '/orders/order-b' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/orders/order-b/cancel' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'PUT', url: '/admin/switch' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'PUT', url: '/admin/switch', headers: bearer(tokens.bob) })).statusCode).toBe(403);
  });

  it('a customer who sends a token is held to their own orders', async () => {
    expect((await app.inject({ url: '/orders/order-b', headers: bearer(tokens.alice) })).statusCode).toBe(404);
  });
});

describe('Origin and Host', () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await appWith({ mode: 'development', allowedOrigins: ['http://localhost:3000'] });
  });

  it("refuses a state-changing request from another site's page, with or without a token", async () => {
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'https://evil.example', ...bearer(tokens.operator) }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }]) {
      const response = await app.inject({ method: 'POST', url: '/orders/order-a/cancel', headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(403);
      expect(response.json().error).toBe('CROSS_SITE_REQUEST');
    }
  });

  it("accepts the UI's origin, the service's own, and tools that send none", async () => {
    for (const headers of [{ origin: 'http://localhost:3000' }, { origin: 'http://localhost:80', host: 'localhost:80' }, {}]) {
      expect((await app.inject({ method: 'POST', url: '/orders/order-a/cancel', headers })).statusCode, JSON.stringify(headers)).toBe(200);
    }
  });

  it('a read from another origin is not refused by the Origin rule (the browser keeps the answer from the page)', async () => {
    expect((await app.inject({ url: '/catalog', headers: { origin: 'https://evil.example' } })).statusCode).toBe(200);
  });

  it('answers only to its configured host names, except for probes', async () => {
    const rebound = await app.inject({ url: '/catalog', headers: { host: 'evil.example:8080' } });
    expect(rebound.statusCode).toBe(403);
    expect(rebound.json()).toEqual({ error: 'HOST_NOT_ALLOWED', message: "host: evil.example is not one of this service's host names (ALLOWED_HOSTS)" });
    expect((await app.inject({ url: '/catalog', headers: { host: '127.0.0.1:8080' } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/health', headers: { host: '10.0.0.7:8080' } })).statusCode).toBe(200);
  });
});

describe('roles from the configured claim', () => {
  const settings = { rolesClaim: 'roles', operatorRole: 'operator', customerRole: undefined };

  it('reads a top-level array, a dotted path, a namespaced claim and a space-separated string', () => {
    expect(rolesOf({ roles: ['operator'] }, 'roles')).toEqual(['operator']);
    expect(rolesOf({ realm_access: { roles: ['customer', 'operator'] } }, 'realm_access.roles')).toEqual(['customer', 'operator']);
    expect(rolesOf({ 'cognito:groups': ['operator'] }, 'cognito:groups')).toEqual(['operator']);
    expect(rolesOf({ 'https://orderflow.example/roles': ['operator'] }, 'https://orderflow.example/roles')).toEqual(['operator']);
    expect(rolesOf({ scope: 'read operator' }, 'scope')).toEqual(['read', 'operator']);
    expect(rolesOf({}, 'realm_access.roles')).toEqual([]);
  });

  it('the subject is the customer id; the operator role makes an operator', () => {
    expect(callerOf({ sub: 'alice' }, settings)).toEqual({ role: 'customer', customerId: 'alice' });
    expect(callerOf({ sub: 'ops-1', roles: ['operator'] }, settings)).toEqual({ role: 'operator', subject: 'ops-1' });
    expect(() => callerOf({ roles: ['operator'] }, settings)).toThrow('authorization: the token has no subject (sub)');
  });

  it('with a customer role configured, a token with neither role is refused with 403', () => {
    const strict = { ...settings, customerRole: 'shopper' };
    expect(callerOf({ sub: 'alice', roles: ['shopper'] }, strict)).toEqual({ role: 'customer', customerId: 'alice' });
    expect(() => callerOf({ sub: 'alice', roles: [] }, strict)).toThrow(/neither the role operator nor shopper/);
  });
});

describe('the development issuer', () => {
  it('refuses a request without a role or grant, naming the field', async () => {
    const response = await fetch(`${issuer.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'role=customer' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('publishes its discovery document and public key only', async () => {
    const discovery = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    expect(discovery).toMatchObject({ issuer: issuer.url, jwks_uri: `${issuer.url}/.well-known/jwks.json`, token_endpoint: `${issuer.url}/token` });
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys: object[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});
