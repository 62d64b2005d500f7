import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The services send no CORS headers, so the browser reaches them through this server:
 * /api/<service>/... is proxied by app/api/[service]/[...path]/route.ts, which reads the
 * service addresses from the environment when `next start` runs (rewrites here would be
 * fixed at build time). The WebSocket goes straight to the status service.
 */
const config: NextConfig = {
  images: { unoptimized: true },
  poweredByHeader: false,
  reactStrictMode: true,
  turbopack: { root: repoRoot },
};

export default config;
