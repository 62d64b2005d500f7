'use client';

import { useRouter } from 'next/navigation';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { Card } from '@/components/card';
import { callService } from '@/lib/api';
import { formatMoney } from '@/lib/format';
import { useI18n } from '@/lib/i18n';
import { useCatalogOrder, useProductName } from '@/lib/runtime-config';
import { useSession } from '@/lib/session';
import type { ApiIssue, Product } from '@/lib/types';
import { useInterval } from '@/lib/use-interval';

type FieldErrors = Record<string, string>;

/** Server issues name fields like body.items.0.quantity; map them back to the form's fields (customerId or a product id). */
function fieldErrorsOf(issues: ApiIssue[], sentProductIds: string[]): { fields: FieldErrors; rest: string[] } {
  const fields: FieldErrors = {};
  const rest: string[] = [];
  for (const issue of issues) {
    const line = /^body\.items\.(\d+)(?:\.|$)/.exec(issue.field);
    const productId = line ? sentProductIds[Number(line[1])] : undefined;
    if (productId !== undefined) fields[productId] = issue.message;
    else if (issue.field === 'body.customerId' || issue.field === 'body.userId') fields.customerId = issue.message;
    else rest.push(`${issue.field}: ${issue.message}`);
  }
  return { fields, rest };
}

export default function NewOrderPage() {
  const { t, locale } = useI18n();
  const productName = useProductName();
  const router = useRouter();
  const [unsortedProducts, setProducts] = useState<Product[] | null>(null);
  const products = useCatalogOrder()(unsortedProducts);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [customerId, setCustomerId] = useState('customer-1');
  // A signed-in customer orders in their own name only (the order service refuses another).
  const { user } = useSession();
  const ownCustomerId = user && !user.operator ? user.subject : null;
  useEffect(() => {
    if (ownCustomerId) setCustomerId(ownCustomerId);
  }, [ownCustomerId]);
  const [quantities, setQuantities] = useState<Record<string, string>>({});
  const [serverErrors, setServerErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string[]>([]);
  const [submitting, setSubmitting] = useState(false);
  const [attempted, setAttempted] = useState(false);

  const load = async () => {
    const result = await callService<{ items: Product[] }>('inventory', '/inventory');
    if (result.ok) {
      setProducts(result.body.items);
      setLoadError(null);
    } else setLoadError(result.error.message);
  };
  useEffect(() => {
    void load();
  }, []);
  // Stock moves while the form is open; the check uses the latest known level.
  useInterval(() => void load(), 5000);

  const lines = useMemo(
    () =>
      (products ?? []).map((p) => {
        const raw = quantities[p.productId] ?? '';
        const quantity = raw.trim() === '' ? 0 : Number(raw);
        let error: string | null = null;
        if (!Number.isInteger(quantity) || quantity < 0) error = t('wholeNumber');
        else if (quantity > p.available) error = p.available === 0 ? t('outOfStock') : t('onlyInStock', { n: p.available });
        return { product: p, quantity: error ? 0 : quantity, error };
      }),
    [products, quantities, t],
  );
  const chosen = lines.filter((l) => l.quantity > 0);
  const total = chosen.reduce((sum, l) => sum + l.quantity * l.product.unitPrice, 0);
  const currency = products?.[0]?.currency ?? 'USD';
  const hasErrors = lines.some((l) => l.error !== null) || customerId.trim() === '';

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setAttempted(true);
    setFormError([]);
    if (hasErrors || chosen.length === 0) return;
    setSubmitting(true);
    const items = chosen.map((l) => ({ productId: l.product.productId, quantity: l.quantity }));
    const result = await callService<{ orderId: string }>('order', '/orders', { body: { customerId: customerId.trim(), items } });
    if (result.ok) {
      router.push(`/orders/${result.body.orderId}`);
      return;
    }
    setSubmitting(false);
    const { fields, rest } = fieldErrorsOf(result.error.issues ?? [], items.map((i) => i.productId));
    setServerErrors(fields);
    setFormError(rest.length > 0 || Object.keys(fields).length === 0 ? [result.error.message] : []);
  };

  const clearServerError = (field: string) =>
    setServerErrors((current) => {
      if (!(field in current)) return current;
      const { [field]: _removed, ...rest } = current;
      return rest;
    });

  const customerError = serverErrors.customerId ?? (attempted && customerId.trim() === '' ? t('required') : undefined);

  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">{t('newOrderTitle')}</h1>
      <form onSubmit={onSubmit} noValidate className="space-y-4" aria-describedby={formError.length ? 'form-error' : undefined}>
        <Card>
          <label htmlFor="customerId" className="block text-sm font-medium text-slate-800">
            {t('customerId')}
          </label>
          <input
            id="customerId"
            name="customerId"
            value={customerId}
            readOnly={ownCustomerId !== null}
            autoComplete="off"
            onChange={(e) => {
              setCustomerId(e.target.value);
              clearServerError('customerId');
            }}
            aria-invalid={customerError ? true : undefined}
            aria-describedby={customerError ? 'customerId-error' : undefined}
            className="mt-1 w-full max-w-sm rounded-md border border-slate-300 px-3 py-2 text-sm aria-invalid:border-rose-500"
          />
          {customerError && (
            <p id="customerId-error" className="mt-1 text-sm text-rose-700" data-testid="error-customerId">
              {customerError}
            </p>
          )}
        </Card>

        <Card title={t('items')}>
          {loadError && (
            <p role="alert" className="text-sm text-rose-700">
              {loadError}
            </p>
          )}
          {!products && !loadError && <p className="text-sm text-slate-500">{t('loading')}</p>}
          <ul className="divide-y divide-slate-100">
            {lines.map(({ product: p, quantity, error }) => {
              const id = `qty-${p.productId}`;
              const message = error ?? serverErrors[p.productId];
              return (
                <li key={p.productId} className="flex flex-wrap items-start gap-x-4 gap-y-1 py-3" data-testid={`line-${p.productId}`}>
                  <div className="min-w-0 flex-1 basis-48">
                    <label htmlFor={id} className="block font-medium">
                      {productName(p.productId, p.name)}
                    </label>
                    <p className="text-sm text-slate-600">
                      {formatMoney(p.unitPrice, p.currency, locale)} · {t('stock')}: <span data-testid={`available-${p.productId}`}>{p.available}</span>
                    </p>
                  </div>
                  <div className="w-28">
                    <input
                      id={id}
                      type="number"
                      inputMode="numeric"
                      min={0}
                      max={p.available}
                      step={1}
                      placeholder="0"
                      value={quantities[p.productId] ?? ''}
                      onChange={(e) => {
                        setQuantities((q) => ({ ...q, [p.productId]: e.target.value }));
                        clearServerError(p.productId);
                      }}
                      aria-label={t('quantityFor', { name: productName(p.productId, p.name) })}
                      aria-invalid={message ? true : undefined}
                      aria-describedby={message ? `${id}-error` : undefined}
                      className="w-full rounded-md border border-slate-300 px-3 py-2 text-right text-sm tabular-nums aria-invalid:border-rose-500"
                    />
                  </div>
                  <div className="w-24 pt-2 text-right text-sm tabular-nums text-slate-700">{quantity > 0 ? formatMoney(quantity * p.unitPrice, p.currency, locale) : ''}</div>
                  {message && (
                    <p id={`${id}-error`} className="w-full text-right text-sm text-rose-700" data-testid={`error-${p.productId}`}>
                      {message}
                    </p>
                  )}
                </li>
              );
            })}
          </ul>
        </Card>

        <div className="sticky bottom-0 -mx-4 flex flex-wrap items-center justify-between gap-3 border-t border-slate-200 bg-white/95 px-4 py-3 backdrop-blur sm:static sm:mx-0 sm:rounded-xl sm:border">
          <p className="text-lg">
            {t('total')}:{' '}
            <output className="font-semibold tabular-nums" data-testid="order-total" aria-live="polite">
              {formatMoney(total, currency, locale)}
            </output>
          </p>
          <button
            type="submit"
            disabled={submitting || !products}
            className="rounded-md bg-indigo-600 px-5 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 disabled:cursor-not-allowed disabled:opacity-50"
          >
            {submitting ? t('placing') : t('placeOrder')}
          </button>
        </div>
        {attempted && chosen.length === 0 && !hasErrors && (
          <p role="alert" className="text-sm text-rose-700">
            {t('chooseSomething')}
          </p>
        )}
        {formError.length > 0 && (
          <div id="form-error" role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800" data-testid="form-error">
            <p className="font-medium">{t('orderRejected')}</p>
            <ul className="list-inside list-disc">
              {formError.map((m) => (
                <li key={m}>{m}</li>
              ))}
            </ul>
          </div>
        )}
      </form>
    </div>
  );
}
