'use client';

import Link from 'next/link';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { Card } from '@/components/card';
import { OperatorsOnly } from '@/components/operators-only';
import { callService } from '@/lib/api';
import { formatDateTime, formatMoney } from '@/lib/format';
import { useI18n } from '@/lib/i18n';
import { useCatalogOrder, useProductName } from '@/lib/runtime-config';
import { ALL_SERVICES, type ServiceName } from '@/lib/services';
import type { DeadLetter, Product } from '@/lib/types';
import { useInterval } from '@/lib/use-interval';

type Notice = { kind: 'ok' | 'error'; text: string } | null;

function NoticeLine({ notice, testId }: { notice: Notice; testId?: string }) {
  if (!notice) return null;
  return (
    <p role={notice.kind === 'error' ? 'alert' : 'status'} data-testid={testId} className={`mt-2 text-sm ${notice.kind === 'error' ? 'text-rose-700' : 'text-emerald-700'}`}>
      {notice.text}
    </p>
  );
}

function RestockPanel() {
  const { t, locale } = useI18n();
  const productName = useProductName();
  const [unsortedProducts, setProducts] = useState<Product[] | null>(null);
  const products = useCatalogOrder()(unsortedProducts);
  const [amounts, setAmounts] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<Notice>(null);
  const load = useCallback(async () => {
    const result = await callService<{ items: Product[] }>('inventory', '/inventory');
    if (result.ok) setProducts(result.body.items);
  }, []);
  useEffect(() => void load(), [load]);
  useInterval(() => void load(), 5000);

  const restock = async (event: FormEvent, product: Product) => {
    event.preventDefault();
    const quantity = Number(amounts[product.productId] ?? '');
    const name = productName(product.productId, product.name);
    if (!Number.isInteger(quantity) || quantity < 1) {
      setNotice({ kind: 'error', text: `${name}: ${t('wholeNumber')}` });
      return;
    }
    const result = await callService<Product>('inventory', `/inventory/${encodeURIComponent(product.productId)}/restock`, { body: { quantity } });
    if (result.ok) {
      setNotice({ kind: 'ok', text: t('restocked', { n: quantity, name }) });
      setAmounts((a) => ({ ...a, [product.productId]: '' }));
      setProducts((list) => list?.map((p) => (p.productId === product.productId ? result.body : p)) ?? null);
    } else setNotice({ kind: 'error', text: `${name}: ${result.error.message}` });
  };

  return (
    <Card title={t('restock')}>
      {!products ? (
        <p className="text-sm text-slate-500">{t('loading')}</p>
      ) : (
        <ul className="divide-y divide-slate-100">
          {products.map((p) => {
            const name = productName(p.productId, p.name);
            const id = `restock-${p.productId}`;
            return (
              <li key={p.productId} className="py-2">
                <form onSubmit={(e) => void restock(e, p)} className="flex flex-wrap items-center gap-x-3 gap-y-1">
                  <div className="min-w-0 flex-1 basis-40 text-sm">
                    <span className="font-medium">{name}</span> <span className="text-xs text-slate-500">{p.productId}</span>
                    <div className="text-slate-600">
                      {formatMoney(p.unitPrice, p.currency, locale)} · {t('stock')}: <span className="tabular-nums" data-testid={`ops-stock-${p.productId}`}>{p.available}</span>
                    </div>
                  </div>
                  <label htmlFor={id} className="sr-only">
                    {t('restockQuantityFor', { name })}
                  </label>
                  <input
                    id={id}
                    type="number"
                    inputMode="numeric"
                    min={1}
                    step={1}
                    placeholder="10"
                    value={amounts[p.productId] ?? ''}
                    onChange={(e) => setAmounts((a) => ({ ...a, [p.productId]: e.target.value }))}
                    className="w-24 rounded-md border border-slate-300 px-3 py-1.5 text-right text-sm tabular-nums"
                  />
                  <button type="submit" className="rounded-md bg-slate-800 px-3 py-1.5 text-sm font-medium text-white hover:bg-slate-700" aria-label={`${t('restock')}: ${name}`}>
                    {t('restock')}
                  </button>
                </form>
              </li>
            );
          })}
        </ul>
      )}
      <NoticeLine notice={notice} testId="restock-notice" />
    </Card>
  );
}

function FailureInjectionPanel() {
  const { t } = useI18n();
  const [paymentRate, setPaymentRate] = useState('');
  const [shippingRate, setShippingRate] = useState('');
  const [failSku, setFailSku] = useState(false);
  const [notice, setNotice] = useState<Notice>(null);
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    void (async () => {
      const [payment, shipping, inventory] = await Promise.all([
        callService<{ failureRate: number }>('payment', '/admin/failure-injection'),
        callService<{ failureRate: number }>('shipping', '/admin/failure-injection'),
        callService<{ failOnInjectedSku: boolean }>('inventory', '/admin/failure-injection'),
      ]);
      if (payment.ok) setPaymentRate(String(Math.round(payment.body.failureRate * 1000) / 10));
      if (shipping.ok) setShippingRate(String(Math.round(shipping.body.failureRate * 1000) / 10));
      if (inventory.ok) setFailSku(inventory.body.failOnInjectedSku);
      setLoaded(true);
    })();
  }, []);

  const percent = (text: string) => {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 100 ? n / 100 : null;
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const payment = percent(paymentRate);
    const shipping = percent(shippingRate);
    if (payment === null || shipping === null) {
      setNotice({ kind: 'error', text: t('percentRange') });
      return;
    }
    const results = await Promise.all([
      callService('payment', '/admin/failure-injection', { method: 'PUT', body: { failureRate: payment } }),
      callService('shipping', '/admin/failure-injection', { method: 'PUT', body: { failureRate: shipping } }),
      callService('inventory', '/admin/failure-injection', { method: 'PUT', body: { failOnInjectedSku: failSku } }),
    ]);
    const failed = results.find((r) => !r.ok);
    setNotice(failed && !failed.ok ? { kind: 'error', text: failed.error.message } : { kind: 'ok', text: t('saved') });
  };

  const inputClass = 'mt-1 w-28 rounded-md border border-slate-300 px-3 py-1.5 text-right text-sm tabular-nums';
  return (
    <Card title={t('failureInjection')}>
      <form onSubmit={(e) => void save(e)} className="space-y-3" aria-busy={!loaded}>
        <div className="flex flex-wrap gap-6">
          <div>
            <label htmlFor="payment-rate" className="block text-sm font-medium">
              {t('paymentFailureRate')}
            </label>
            <input id="payment-rate" type="number" min={0} max={100} step={1} value={paymentRate} onChange={(e) => setPaymentRate(e.target.value)} className={inputClass} />
          </div>
          <div>
            <label htmlFor="shipping-rate" className="block text-sm font-medium">
              {t('shippingFailureRate')}
            </label>
            <input id="shipping-rate" type="number" min={0} max={100} step={1} value={shippingRate} onChange={(e) => setShippingRate(e.target.value)} className={inputClass} />
          </div>
        </div>
        <div className="flex items-start gap-2">
          <input id="fail-sku" type="checkbox" checked={failSku} onChange={(e) => setFailSku(e.target.checked)} className="mt-0.5 h-4 w-4 accent-indigo-600" />
          <label htmlFor="fail-sku" className="text-sm">
            {t('failSku')}
          </label>
        </div>
        <button type="submit" disabled={!loaded} className="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-50">
          {t('save')}
        </button>
      </form>
      <NoticeLine notice={notice} testId="failure-notice" />
    </Card>
  );
}

type Letter = DeadLetter & { service: ServiceName };

function DeadLettersPanel() {
  const { t, locale } = useI18n();
  const [letters, setLetters] = useState<Letter[] | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [notice, setNotice] = useState<Notice>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(async () => {
    const results = await Promise.all(ALL_SERVICES.map(async (service) => ({ service, result: await callService<{ items: DeadLetter[] }>(service, '/admin/dead-letters') })));
    const all: Letter[] = [];
    const unavailable: string[] = [];
    for (const { service, result } of results) {
      if (result.ok) all.push(...result.body.items.map((item) => ({ ...item, service })));
      else unavailable.push(service);
    }
    all.sort((a, b) => b.failedAt.localeCompare(a.failedAt));
    setLetters(all);
    setProblems(unavailable);
  }, []);
  useEffect(() => void load(), [load]);
  useInterval(() => void load(), 5000);

  // Replay publishes the record again; discard resolves it without handling (the operator decided it is not to be handled).
  const resolve = async (letter: Letter, action: 'replay' | 'discard') => {
    setBusy(`${letter.service}-${letter.id}`);
    const result = await callService(letter.service, `/admin/dead-letters/${letter.id}/${action}`, { method: 'POST' });
    setBusy(null);
    const done = t(action === 'replay' ? 'replayOk' : 'discardOk', { id: letter.id, service: letter.service });
    setNotice(result.ok ? { kind: 'ok', text: done } : { kind: 'error', text: result.error.message });
    await load();
  };

  return (
    <Card
      title={`${t('deadLetters')}${letters ? ` (${letters.filter((l) => !l.replayedAt && !l.discardedAt).length})` : ''}`}
      actions={
        <button type="button" onClick={() => void load()} className="rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-50">
          {t('refresh')}
        </button>
      }
    >
      {problems.length > 0 && <p className="mb-2 text-sm text-amber-800">{problems.map((s) => t('unavailable', { service: s })).join(' · ')}</p>}
      {!letters ? (
        <p className="text-sm text-slate-500">{t('loading')}</p>
      ) : letters.length === 0 ? (
        <p className="text-sm text-slate-600">{t('noDeadLetters')}</p>
      ) : (
        <ul className="divide-y divide-slate-100" data-testid="dead-letters">
          {letters.map((l) => (
            <li key={`${l.service}-${l.id}`} className="flex flex-wrap items-start gap-3 py-3" data-testid="dead-letter" data-replayed={l.replayedAt ? 'true' : 'false'} data-discarded={l.discardedAt ? 'true' : 'false'}>
              <div className="min-w-0 flex-1 basis-64 text-sm">
                <div className="flex flex-wrap items-baseline gap-x-3">
                  <span className="font-medium">{l.eventType ?? '?'}</span>
                  <span className="text-slate-600">
                    {t('service')}: {l.service} · {t('topic')}: {l.topic}
                  </span>
                  <span className="text-xs text-slate-500">
                    {formatDateTime(l.failedAt, locale)} · {t('attempts')}: {l.attempts}
                  </span>
                </div>
                <p className="mt-0.5 break-words font-mono text-xs text-rose-800">{l.error}</p>
                <p className="text-xs text-slate-500">
                  {t('order')}:{' '}
                  <Link href={`/orders/${l.key}`} className="font-mono text-indigo-700 underline-offset-2 hover:underline">
                    {l.key}
                  </Link>
                </p>
              </div>
              {l.replayedAt ? (
                <span className="text-xs text-emerald-700">{t('replayedAt', { at: formatDateTime(l.replayedAt, locale) })}</span>
              ) : l.discardedAt ? (
                <span className="text-xs text-slate-600">{t('discardedAt', { at: formatDateTime(l.discardedAt, locale) })}</span>
              ) : (
                <div className="flex gap-2">
                  <button
                    type="button"
                    onClick={() => void resolve(l, 'replay')}
                    disabled={busy !== null}
                    aria-label={`${t('replay')}: ${l.service} #${l.id} ${l.eventType ?? ''}`}
                    className="rounded-md bg-slate-800 px-3 py-1.5 text-sm font-medium text-white hover:bg-slate-700 disabled:opacity-50"
                  >
                    {t('replay')}
                  </button>
                  <button
                    type="button"
                    onClick={() => void resolve(l, 'discard')}
                    disabled={busy !== null}
                    aria-label={`${t('discard')}: ${l.service} #${l.id} ${l.eventType ?? ''}`}
                    className="rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-50 disabled:opacity-50"
                  >
                    {t('discard')}
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      <NoticeLine notice={notice} testId="replay-notice" />
    </Card>
  );
}

export default function OperationsPage() {
  return (
    <OperatorsOnly>
      <Operations />
    </OperatorsOnly>
  );
}

function Operations() {
  const { t } = useI18n();
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">{t('operationsTitle')}</h1>
      <div className="grid gap-4 lg:grid-cols-2">
        <RestockPanel />
        <FailureInjectionPanel />
      </div>
      <DeadLettersPanel />
    </div>
  );
}
