import { z } from 'zod';
import { type JWTPayload, createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { AuthSettings } from '../config.ts';
import { ApiError } from '../http/api-error.ts';

/** Who made a request, as the verified token says: an operator, or a customer whose id is the token's subject. */
export type Caller = { role: 'operator'; subject: string } | { role: 'customer'; customerId: string };

export interface TokenVerifier {
  /** The caller a bearer token names; a 401 ApiError when it is not valid, 503 when the issuer cannot be reached. */
  verify(token: string): Promise<Caller>;
}

export const unauthenticated = (message: string) => new ApiError(401, 'UNAUTHENTICATED', message);

/**
 * Verifies OIDC access tokens (JWT) against the issuer's published keys: signature, `iss`,
 * `exp`/`nbf`, and `aud` when an audience is configured. The JWKS URL comes from the
 * settings or the issuer's discovery document; jose caches the keys and fetches them again
 * when a token names a key it has not seen (the issuer rotated).
 */
export function createTokenVerifier(settings: AuthSettings): TokenVerifier {
  // One discovery for all the requests that arrive before it answers; a failed one is tried again by the next request.
  let keys: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  function keySet(issuer: string) {
    if (!keys) {
      const discovered = (async () => createRemoteJWKSet(new URL(settings.jwksUrl ?? (await discoverJwksUrl(issuer))), { timeoutDuration: 5_000 }))();
      discovered.catch(() => {
        if (keys === discovered) keys = undefined;
      });
      keys = discovered;
    }
    return keys;
  }

  return {
    async verify(token) {
      const issuer = settings.issuer;
      if (!issuer) throw unauthenticated('authorization: this service has no token issuer configured (set AUTH_ISSUER)');
      let payload: JWTPayload;
      try {
        const verified = await jwtVerify(token, await keySet(issuer), {
          issuer,
          ...(settings.audience ? { audience: settings.audience } : {}),
          clockTolerance: 30,
        });
        payload = verified.payload;
      } catch (error) {
        if (error instanceof ApiError) throw error;
        if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
          throw new ApiError(503, 'ISSUER_UNAVAILABLE', `authorization: the token issuer's keys could not be fetched (${messageOf(error)})`);
        }
        throw unauthenticated(`authorization: the bearer token is not valid (${messageOf(error)})`);
      }
      return callerOf(payload, settings);
    },
  };
}

/** The caller a verified token's claims describe, by the configured role claim and role names. */
export function callerOf(payload: JWTPayload, settings: Pick<AuthSettings, 'rolesClaim' | 'operatorRole' | 'customerRole'>): Caller {
  const subject = typeof payload.sub === 'string' ? payload.sub.trim() : '';
  if (subject === '') throw unauthenticated('authorization: the token has no subject (sub)');
  const roles = rolesOf(payload, settings.rolesClaim);
  if (roles.includes(settings.operatorRole)) return { role: 'operator', subject };
  if (settings.customerRole !== undefined && !roles.includes(settings.customerRole)) {
    throw new ApiError(
      403,
      'FORBIDDEN',
      `authorization: the token's ${settings.rolesClaim} claim has neither the role ${settings.operatorRole} nor ${settings.customerRole}`,
    );
  }
  return { role: 'customer', customerId: subject };
}

/**
 * The roles in a claim named as the issuer names it: a top-level claim first (`roles`,
 * `cognito:groups`, Auth0's `https://example.com/roles`, whose name has dots), else a dotted
 * path (Keycloak's `realm_access.roles`). An array of strings, or one space-separated string.
 */
export function rolesOf(payload: JWTPayload, claim: string): string[] {
  let value: unknown = payload[claim];
  if (value === undefined) {
    value = claim.split('.').reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), payload);
  }
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return Array.isArray(value) ? value.filter((role): role is string => typeof role === 'string') : [];
}

const DiscoveryDocument = z.object({ jwks_uri: z.url() });

async function discoverJwksUrl(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let document: unknown;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    document = await response.json();
  } catch (error) {
    throw new ApiError(503, 'ISSUER_UNAVAILABLE', `authorization: the issuer's discovery document ${url} could not be read (${messageOf(error)})`);
  }
  const parsed = DiscoveryDocument.safeParse(document);
  if (!parsed.success) throw new ApiError(503, 'ISSUER_UNAVAILABLE', `authorization: ${url} names no jwks_uri URL (set AUTH_JWKS_URL)`);
  return parsed.data.jwks_uri;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
