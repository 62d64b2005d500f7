import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClientId } from '@orderflow/contracts';
import Fastify from 'fastify';
import { type JWK, SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import { z } from 'zod';

/**
 * The development issuer `npm start` runs when no AUTH_ISSUER is set: a minimal OAuth2
 * authorization server with OIDC discovery, a JWKS and a token endpoint, so that the
 * services verify tokens exactly as they do against Keycloak, Cognito or Auth0. It hands a
 * token to anyone who asks, for any customer or the operator: that is why it runs only in
 * development mode and answers token requests from this machine (loopback) alone.
 */

const ALGORITHM = 'ES256';
const KEY_FILE = 'dev-issuer-key.json';
/** Long enough for a working day in the UI; the benchmark and tests use one token per customer. */
const TOKEN_LIFETIME_SECONDS = 8 * 60 * 60;
export const DEV_AUDIENCE = 'orderflow';
export const DEV_OPERATOR_ROLE = 'operator';

export interface DevIssuerOptions {
  /** The signing key is kept here (dev-issuer-key.json); ':memory:' keeps it in memory. */
  dataDir: string;
  host: string;
  /** 0: a free port. */
  port: number;
  audience?: string | undefined;
  /** The claim the services read roles from (AUTH_ROLES_CLAIM); a dotted path makes nested claims. */
  rolesClaim?: string;
  operatorRole?: string;
}

export interface DevIssuer {
  /** The issuer identifier (`iss`), also its base URL. */
  url: string;
  stop(): Promise<void>;
}

/** A customer id (the services read the token's subject as one), here only letters, digits and . _ @ -. */
const Subject = ClientId.regex(/^[\p{L}\p{N}._@-]+$/u, 'letters, digits, . _ @ or - only');
/** A client-credentials-like request: which role, and for a customer, who. */
const TokenRequest = z.discriminatedUnion('role', [
  z.object({ grant_type: z.literal('client_credentials'), role: z.literal('customer'), subject: Subject }),
  z.object({ grant_type: z.literal('client_credentials'), role: z.literal('operator'), subject: Subject.default('operator') }),
]);
export type DevTokenRequest = { role: 'customer'; subject: string } | { role: 'operator'; subject?: string };

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export async function startDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  const { privateJwk, publicJwk } = await signingKey(options.dataDir);
  const privateKey = await importJWK(privateJwk, ALGORITHM);
  const audience = options.audience ?? DEV_AUDIENCE;
  const rolesClaim = options.rolesClaim ?? 'roles';
  const operatorRole = options.operatorRole ?? DEV_OPERATOR_ROLE;

  const app = Fastify({ logger: false });
  // OAuth2 token requests are form-encoded (RFC 6749 §4.4.2); JSON is accepted too.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  let issuer = '';
  app.get('/.well-known/openid-configuration', async () => ({
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    token_endpoint: `${issuer}/token`,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['none'],
    id_token_signing_alg_values_supported: [ALGORITHM],
    subject_types_supported: ['public'],
    response_types_supported: ['token'],
  }));
  app.get('/.well-known/jwks.json', async () => ({ keys: [publicJwk] }));
  app.post('/token', async (request, reply) => {
    if (!LOOPBACK.has(request.socket.remoteAddress ?? '')) {
      return reply.status(403).send({ error: 'access_denied', error_description: 'the development issuer gives tokens to this machine only' });
    }
    const parsed = TokenRequest.safeParse(request.body);
    if (!parsed.success) {
      const description = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return reply.status(400).send({ error: 'invalid_request', error_description: `${description} (send grant_type=client_credentials, role=customer|operator, subject=<customer id>)` });
    }
    const { role, subject } = parsed.data;
    const roles = role === 'operator' ? [operatorRole] : ['customer'];
    const accessToken = await new SignJWT(nestedClaim(rolesClaim, roles))
      .setProtectedHeader({ alg: ALGORITHM, kid: publicJwk.kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
      .sign(privateKey);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS };
  });

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  issuer = `http://${shownHost}:${port}`;
  return { url: issuer, stop: () => app.close() };
}

/** `realm_access.roles` becomes {realm_access: {roles}}, as Keycloak writes it. */
function nestedClaim(claim: string, roles: string[]): Record<string, unknown> {
  if (claim.includes(':') || claim.startsWith('http')) return { [claim]: roles };
  return claim
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), roles) as Record<string, unknown>;
}

/** The key pair in dataDir, made on first use: generated per installation, never shipped. */
async function signingKey(dataDir: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const file = dataDir === ':memory:' ? undefined : join(dataDir, KEY_FILE);
  let privateJwk: JWK;
  if (file && existsSync(file)) {
    privateJwk = StoredKey.parse(JSON.parse(readFileSync(file, 'utf8')));
  } else {
    const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
    privateJwk = await exportJWK(privateKey);
    privateJwk.kid = await calculateJwkThumbprint(privateJwk);
    if (file) {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(file, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600 });
    }
  }
  const { d: _private, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk: { ...publicJwk, alg: ALGORITHM, use: 'sig' } };
}

const StoredKey = z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), d: z.string(), kid: z.string() });

const TokenResponse = z.object({ access_token: z.string().min(1) });
const Discovery = z.object({ token_endpoint: z.url() });

/**
 * A token from an issuer's token endpoint, found through its discovery document, as a
 * tool would ask an authorization server for one (the development issuer's grant).
 */
export async function requestDevToken(issuerUrl: string, request: DevTokenRequest): Promise<string> {
  const discoveryUrl = `${issuerUrl.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const discovery = await fetch(discoveryUrl).catch((error: unknown) => {
    throw new Error(`the issuer ${issuerUrl} did not answer (${error instanceof Error ? error.message : String(error)}); is npm start running?`);
  });
  const { token_endpoint: tokenEndpoint } = Discovery.parse(await discovery.json());
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', role: request.role, ...(request.subject ? { subject: request.subject } : {}) }),
  });
  const body: unknown = await response.json();
  if (!response.ok) throw new Error(`the issuer refused the token request: ${JSON.stringify(body)}`);
  return TokenResponse.parse(body).access_token;
}
