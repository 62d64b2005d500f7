import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The services send no CORS headers, so the browser reaches them through this server:
 * /api/<service>/... is proxied by app/api/[service]/[...path]/route.ts, which reads the
 * service addresses from the environment when `next start` runs (rewrites here would be
 * fixed at build time). The WebSocket goes straight to the status service.
 */
/** On every response: never framed, types as declared, no Referer to other sites (same-origin: a page's own POSTs keep their Origin). */
const SECURITY_HEADERS = [
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'same-origin' },
];

/** JSON and static files run no script and load nothing; pages get their nonce policy from proxy.ts. */
const NON_PAGE_POLICY = [{ key: 'Content-Security-Policy', value: "default-src 'none'; frame-ancestors 'none'" }];

const config: NextConfig = {
  async headers() {
    return [
      { source: '/:path*', headers: SECURITY_HEADERS },
      { source: '/api/:path*', headers: NON_PAGE_POLICY },
      { source: '/_next/static/:path*', headers: NON_PAGE_POLICY },
    ];
  },
  images: { unoptimized: true },
  poweredByHeader: false,
  reactStrictMode: true,
  // The service list and ports come from the contracts package's TypeScript source.
  transpilePackages: ['@orderflow/contracts'],
  turbopack: { root: repoRoot },
};

export default config;
