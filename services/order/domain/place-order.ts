import type { OrderLine } from '@orderflow/contracts';

export interface PriceListEntry {
  unitPrice: number;
}
export type PriceList = ReadonlyMap<string, PriceListEntry>;

/** A request line after the document shapes are mapped to one (see http/order-request.ts). */
export interface RequestedLine {
  productId: string;
  quantity: number;
  /** A price the client states (documents 003, 004), in minor units: it must match the catalog. */
  clientPrice?: number | undefined;
  /** Where the line came from in the request body, for error messages. */
  field: string;
}

export interface OrderRequest {
  customerId: string;
  items: RequestedLine[];
  currency?: string | undefined;
}

export interface Issue {
  field: string;
  rule: string;
  message: string;
}

export interface PricedOrder {
  customerId: string;
  items: OrderLine[];
  total: number;
  currency: string;
}

export const MAX_QUANTITY_PER_LINE = 1000;

/**
 * Prices an order from the catalog. Lines of the same product are merged so that the
 * inventory reserves one quantity per product. Every problem is reported, each with
 * the field and the rule it breaks.
 */
export function priceOrder(
  request: OrderRequest,
  prices: PriceList,
  catalogCurrency: string,
): { ok: true; order: PricedOrder } | { ok: false; issues: Issue[] } {
  const issues: Issue[] = [];
  if (request.currency !== undefined && request.currency !== catalogCurrency) {
    issues.push({ field: 'body.currency', rule: 'catalog_currency', message: `must be ${catalogCurrency}, the catalog's currency` });
  }
  const merged = new Map<string, OrderLine>();
  for (const line of request.items) {
    const entry = prices.get(line.productId);
    if (!entry) {
      issues.push({ field: `${line.field}.productId`, rule: 'known_product', message: `no product ${JSON.stringify(line.productId)} in the catalog` });
      continue;
    }
    if (line.clientPrice !== undefined && line.clientPrice !== entry.unitPrice) {
      issues.push({
        field: `${line.field}.price`,
        rule: 'catalog_price',
        message: `${line.clientPrice} does not match the catalog price ${entry.unitPrice} (minor units) of ${line.productId}`,
      });
      continue;
    }
    const existing = merged.get(line.productId);
    const quantity = (existing?.quantity ?? 0) + line.quantity;
    if (quantity > MAX_QUANTITY_PER_LINE) {
      issues.push({ field: `${line.field}.quantity`, rule: 'max_quantity', message: `at most ${MAX_QUANTITY_PER_LINE} of one product per order` });
      continue;
    }
    merged.set(line.productId, { productId: line.productId, quantity, unitPrice: entry.unitPrice });
  }
  if (issues.length > 0) return { ok: false, issues };
  const items = [...merged.values()];
  const total = items.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
  return { ok: true, order: { customerId: request.customerId, items, total, currency: catalogCurrency } };
}
