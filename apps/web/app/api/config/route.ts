import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { NextResponse } from 'next/server';
import { serviceUrl } from '@/lib/services';

export const dynamic = 'force-dynamic';

/** Product names in both languages come from the catalog data file; the services carry only the English ones. */
async function catalogProducts(): Promise<{ productId: string; en: string; ja: string }[]> {
  const candidates = [process.env.CATALOG_FILE, resolve(/*turbopackIgnore: true*/ process.cwd(), '../../config/catalog.json'), resolve(/*turbopackIgnore: true*/ process.cwd(), 'config/catalog.json')];
  for (const file of candidates) {
    if (!file) continue;
    try {
      const catalog: unknown = JSON.parse(await readFile(resolve(/*turbopackIgnore: true*/ file), 'utf8'));
      const products = typeof catalog === 'object' && catalog !== null && 'products' in catalog && Array.isArray(catalog.products) ? catalog.products : [];
      const names: { productId: string; en: string; ja: string }[] = [];
      for (const p of products) {
        if (typeof p?.productId === 'string' && typeof p?.name === 'string') names.push({ productId: p.productId, en: p.name, ja: typeof p.nameJa === 'string' ? p.nameJa : p.name });
      }
      return names;
    } catch {
      // try the next place
    }
  }
  return [];
}

/** What the browser needs to know at run time: where the status WebSocket is, product names in Japanese, how to sign in. */
export async function GET() {
  const statusPort = Number(new URL(serviceUrl('status')).port || 80);
  const auth = {
    rolesClaim: process.env.AUTH_ROLES_CLAIM || 'roles',
    operatorRole: process.env.AUTH_OPERATOR_ROLE || 'operator',
    devSignIn: Boolean(process.env.DEV_ISSUER_URL),
  };
  return NextResponse.json(
    { statusWsUrl: process.env.STATUS_PUBLIC_URL || null, statusPort, products: await catalogProducts(), auth },
    { headers: { 'cache-control': 'no-store' } },
  );
}
