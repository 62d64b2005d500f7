'use client';

import { createContext, useContext, useEffect, useState } from 'react';
import { useI18n } from './i18n';

interface RuntimeConfig {
  statusWsUrl: string | null;
  statusPort: number;
  /** In the catalog file's order (an array: an object would put the numeric id "1" first). */
  products: { productId: string; en: string; ja: string }[];
  /** Where roles are in a token, and whether this server offers development sign-in (npm start's issuer). */
  auth: { rolesClaim: string; operatorRole: string; devSignIn: boolean };
}

const ConfigContext = createContext<RuntimeConfig | null>(null);

/** Loads /api/config once: the status WebSocket's address is only known when the server runs. */
export function RuntimeConfigProvider({ children }: { children: React.ReactNode }) {
  const [config, setConfig] = useState<RuntimeConfig | null>(null);
  useEffect(() => {
    let cancelled = false;
    const load = async (attempt: number): Promise<void> => {
      try {
        const response = await fetch('/api/config', { cache: 'no-store' });
        const body = (await response.json()) as RuntimeConfig;
        if (!cancelled) setConfig(body);
      } catch {
        if (!cancelled) setTimeout(() => void load(attempt + 1), Math.min(5000, 500 * 2 ** attempt));
      }
    };
    void load(0);
    return () => {
      cancelled = true;
    };
  }, []);
  return <ConfigContext.Provider value={config}>{children}</ConfigContext.Provider>;
}

export const useRuntimeConfig = () => useContext(ConfigContext);

/** The WebSocket base URL (ws://host:port), or null until the configuration has loaded. */
export function useStatusSocketBase(): string | null {
  const config = useRuntimeConfig();
  if (!config) return null;
  if (config.statusWsUrl) return config.statusWsUrl.replace(/\/+$/, '');
  const secure = window.location.protocol === 'https:';
  return `${secure ? 'wss' : 'ws'}://${window.location.hostname}:${config.statusPort}`;
}

/** A product's name in the chosen language (the catalog has Japanese names; the services send English ones). */
export function useProductName(): (productId: string, englishName?: string) => string {
  const config = useRuntimeConfig();
  const { language } = useI18n();
  return (productId, englishName) => config?.products.find((p) => p.productId === productId)?.[language] ?? englishName ?? productId;
}

/** Products in the catalog file's order (the services list them by id, which puts "1" and "ABC-001" first). */
export function useCatalogOrder(): <P extends { productId: string }>(products: P[] | null) => P[] | null {
  const config = useRuntimeConfig();
  const order = (config?.products ?? []).map((p) => p.productId);
  const rank = (id: string) => {
    const i = order.indexOf(id);
    return i === -1 ? order.length : i;
  };
  // Until the catalog order is known, nothing: better than a list that reorders itself under the user's cursor.
  return (products) => (products && config ? [...products].sort((a, b) => rank(a.productId) - rank(b.productId) || a.productId.localeCompare(b.productId)) : null);
}
