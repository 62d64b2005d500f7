'use client';

import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import { setAccessToken } from './api';
import { useRuntimeConfig } from './runtime-config';

/** Who is signed in, as the token says. For display and for hiding pages only: the services verify the token. */
export interface SignedInUser {
  subject: string;
  operator: boolean;
}

interface Session {
  token: string | null;
  user: SignedInUser | null;
  signIn(token: string): void;
  signOut(): void;
}

/** The browser's token, for every tab: sent in a header, never a cookie, so another site's page cannot make the browser send it. */
const STORAGE_KEY = 'orderflow.accessToken';
const SessionContext = createContext<Session>({ token: null, user: null, signIn: () => undefined, signOut: () => undefined });

function claimsOf(token: string): Record<string, unknown> | null {
  try {
    const payload = token.split('.')[1] ?? '';
    const json: unknown = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    return typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The roles in the configured claim: a top-level name first, else a dotted path (as the services read it). */
function rolesIn(claims: Record<string, unknown>, claim: string): string[] {
  let value: unknown = claims[claim];
  if (value === undefined) value = claim.split('.').reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), claims);
  if (typeof value === 'string') return value.split(/\s+/);
  return Array.isArray(value) ? value.filter((role): role is string => typeof role === 'string') : [];
}

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const config = useRuntimeConfig();
  const [token, setToken] = useState<string | null>(null);
  useEffect(() => setToken(localStorage.getItem(STORAGE_KEY)), []);
  useEffect(() => setAccessToken(token), [token]);

  const signIn = useCallback((next: string) => {
    localStorage.setItem(STORAGE_KEY, next);
    setAccessToken(next);
    setToken(next);
  }, []);
  const signOut = useCallback(() => {
    localStorage.removeItem(STORAGE_KEY);
    setAccessToken(null);
    setToken(null);
  }, []);

  const claims = token ? claimsOf(token) : null;
  const expired = typeof claims?.exp === 'number' && claims.exp * 1000 < Date.now();
  const user =
    claims && !expired && typeof claims.sub === 'string' && config
      ? { subject: claims.sub, operator: rolesIn(claims, config.auth.rolesClaim).includes(config.auth.operatorRole) }
      : null;
  return <SessionContext.Provider value={{ token: user ? token : null, user, signIn, signOut }}>{children}</SessionContext.Provider>;
}

export const useSession = () => useContext(SessionContext);
