'use client';

import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Card } from '@/components/card';
import { ConnectionIndicator } from '@/components/connection-indicator';
import { OrdersChart } from '@/components/orders-chart';
import { STATUS_BAR_COLORS, StatusBadge } from '@/components/status-badge';
import { OperatorsOnly } from '@/components/operators-only';
import { callService } from '@/lib/api';
import { formatAge, formatMoney, shortId } from '@/lib/format';
import { useI18n } from '@/lib/i18n';
import { byNewest, mergeOrders } from '@/lib/orders';
import { useCatalogOrder, useProductName } from '@/lib/runtime-config';
import { FAILED, IN_PROGRESS, ORDER_STATUSES, type OrderStats, type OrderView, type Product } from '@/lib/types';
import { useDebounced, useInterval } from '@/lib/use-interval';
import { useStatusSocket } from '@/lib/use-status-socket';

/** One page of GET /status: newest first; nextCursor continues with older orders. */
interface OrderPage {
  items: OrderView[];
  nextCursor: string | null;
}
const PAGE_SIZE = 50;

export default function DashboardPage() {
  return (
    <OperatorsOnly>
      <Dashboard />
    </OperatorsOnly>
  );
}

function Dashboard() {
  const { t, locale } = useI18n();
  const productName = useProductName();
  const [orders, setOrders] = useState<Map<string, OrderView>>(new Map());
  const [stats, setStats] = useState<OrderStats | null>(null);
  const [unsortedProducts, setProducts] = useState<Product[] | null>(null);
  const products = useCatalogOrder()(unsortedProducts);
  const [now, setNow] = useState(() => Date.now());
  const [problem, setProblem] = useState<string | null>(null);

  // Where "older orders" continues: the end of the oldest page loaded so far (null: nothing older).
  const [olderCursor, setOlderCursor] = useState<string | null>(null);
  const pagedBack = useRef(false);
  const [loadingOlder, setLoadingOlder] = useState(false);

  /** The newest page; older pages are loaded on demand, a page at a time (the service pages by keyset). */
  const loadOrders = useCallback(async () => {
    const result = await callService<OrderPage>('status', `/status?limit=${PAGE_SIZE}`);
    if (!result.ok) return;
    setOrders((current) => mergeOrders(current, result.body.items));
    if (!pagedBack.current) setOlderCursor(result.body.nextCursor);
  }, []);
  const loadOlder = useCallback(async () => {
    if (!olderCursor) return;
    setLoadingOlder(true);
    const result = await callService<OrderPage>('status', `/status?limit=${PAGE_SIZE}&before=${encodeURIComponent(olderCursor)}`);
    setLoadingOlder(false);
    if (!result.ok) return;
    pagedBack.current = true;
    setOrders((current) => mergeOrders(current, result.body.items));
    setOlderCursor(result.body.nextCursor);
  }, [olderCursor]);
  const loadStats = useCallback(async () => {
    const result = await callService<OrderStats>('status', '/stats');
    if (result.ok) setStats(result.body);
    setProblem(result.ok ? null : t('unavailable', { service: 'status' }));
  }, [t]);
  const loadInventory = useCallback(async () => {
    const result = await callService<{ items: Product[] }>('inventory', '/inventory');
    if (result.ok) setProducts(result.body.items);
  }, []);

  useEffect(() => {
    void loadOrders();
    void loadStats();
    void loadInventory();
  }, [loadOrders, loadStats, loadInventory]);

  const refreshFigures = useDebounced(() => {
    void loadStats();
    void loadInventory();
  }, 250);

  const connection = useStatusSocket('/ws', {
    onOrder: (order) => {
      setOrders((current) => mergeOrders(current, [order]));
      refreshFigures();
    },
    // Catch up on whatever changed while disconnected (the socket's snapshot covers only the latest 50).
    onOpen: () => {
      void loadOrders();
      refreshFigures();
    },
  });

  useInterval(() => setNow(Date.now()), 1000);
  // Restocks and the per-minute buckets change without an order update.
  useInterval(() => {
    void loadInventory();
    void loadStats();
  }, 3000);

  const sorted = useMemo(() => [...orders.values()].sort(byNewest), [orders]);
  const counts = stats?.countsByStatus;
  const sum = (statuses: typeof ORDER_STATUSES) => statuses.reduce((n, s) => n + (counts?.[s] ?? 0), 0);
  const revenue = stats?.revenue.length ? stats.revenue.map((r) => formatMoney(r.amount, r.currency, locale)).join(' + ') : formatMoney(0, 'USD', locale);
  const maxStock = Math.max(1, ...(products ?? []).map((p) => p.available));

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-bold">{t('dashboardTitle')}</h1>
        <ConnectionIndicator state={connection} />
      </div>
      {problem && (
        <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800">
          {problem}
        </p>
      )}

      <dl className="grid grid-cols-2 gap-3 md:grid-cols-5" data-testid="stats">
        {[
          { key: 'total', label: t('totalOrders'), value: String(stats?.totalOrders ?? '–') },
          { key: 'in-progress', label: t('inProgress'), value: stats ? String(sum(IN_PROGRESS)) : '–' },
          { key: 'completed', label: t('completed'), value: stats ? String(counts?.COMPLETED ?? 0) : '–' },
          { key: 'failed', label: t('failed'), value: stats ? String(sum(FAILED)) : '–' },
          { key: 'revenue', label: t('revenue'), value: stats ? revenue : '–' },
        ].map((item) => (
          <div key={item.key} className={`rounded-xl border border-slate-200 bg-white p-4 shadow-sm ${item.key === 'revenue' ? 'col-span-2 md:col-span-1' : ''}`}>
            <dt className="text-sm text-slate-600">{item.label}</dt>
            <dd className="mt-1 text-2xl font-semibold tabular-nums" data-testid={`stat-${item.key}`}>
              {item.value}
            </dd>
          </div>
        ))}
      </dl>

      <div className="grid gap-4 lg:grid-cols-2">
        <Card title={t('ordersPerMinute')}>{stats ? <OrdersChart buckets={stats.ordersPerMinute} /> : <p className="text-sm text-slate-500">{t('loading')}</p>}</Card>
        <Card title={t('countsByStatus')}>
          {stats && stats.totalOrders > 0 && (
            <div className="mb-3 flex h-3 overflow-hidden rounded-full bg-slate-100" aria-hidden="true">
              {ORDER_STATUSES.filter((s) => (counts?.[s] ?? 0) > 0).map((s) => (
                <div key={s} className={STATUS_BAR_COLORS[s]} style={{ width: `${((counts?.[s] ?? 0) / stats.totalOrders) * 100}%` }} />
              ))}
            </div>
          )}
          <ul className="grid grid-cols-1 gap-x-4 gap-y-1.5 sm:grid-cols-2">
            {ORDER_STATUSES.map((s) => (
              <li key={s} className="flex items-center justify-between gap-2 text-sm">
                <StatusBadge status={s} />
                <span className="font-medium tabular-nums" data-testid={`count-${s}`}>
                  {counts?.[s] ?? 0}
                </span>
              </li>
            ))}
          </ul>
        </Card>
      </div>

      <Card title={t('inventoryLevels')}>
        {!products ? (
          <p className="text-sm text-slate-500">{t('loading')}</p>
        ) : (
          <ul className="grid gap-x-6 gap-y-2 sm:grid-cols-2">
            {products.map((p) => (
              <li key={p.productId} className="text-sm">
                <div className="flex justify-between gap-2">
                  <span className="truncate">
                    {productName(p.productId, p.name)} <span className="text-xs text-slate-500">{p.productId}</span>
                  </span>
                  <span className="font-medium tabular-nums" data-testid={`stock-${p.productId}`}>
                    {p.available}
                  </span>
                </div>
                <div className="mt-1 h-1.5 rounded-full bg-slate-100" aria-hidden="true">
                  <div className={`h-1.5 rounded-full ${p.available === 0 ? 'bg-rose-500' : p.available < 10 ? 'bg-amber-500' : 'bg-emerald-500'}`} style={{ width: `${(p.available / maxStock) * 100}%` }} />
                </div>
              </li>
            ))}
          </ul>
        )}
      </Card>

      <Card title={`${t('allOrders')} (${sorted.length}${stats && stats.totalOrders > sorted.length ? ` / ${stats.totalOrders}` : ''})`}>
        {sorted.length === 0 ? (
          <p className="text-sm text-slate-600">
            {t('noOrders')}{' '}
            <Link href="/orders/new" className="font-medium text-indigo-700 underline">
              {t('createFirst')}
            </Link>
          </p>
        ) : (
          <div className="-mx-4 overflow-x-auto">
            <table className="w-full text-left text-sm" data-testid="orders-table">
              <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
                <tr>
                  <th scope="col" className="px-2 py-2 first:pl-4 last:pr-4 sm:px-4 font-medium">{t('order')}</th>
                  <th scope="col" className="hidden px-2 py-2 sm:px-4 font-medium sm:table-cell">{t('customer')}</th>
                  <th scope="col" className="hidden px-2 py-2 sm:px-4 font-medium md:table-cell">{t('items')}</th>
                  <th scope="col" className="px-2 py-2 first:pl-4 last:pr-4 sm:px-4 text-right font-medium">{t('total')}</th>
                  <th scope="col" className="px-2 py-2 first:pl-4 last:pr-4 sm:px-4 font-medium">{t('status')}</th>
                  <th scope="col" className="px-2 py-2 first:pl-4 last:pr-4 sm:px-4 text-right font-medium">{t('age')}</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {sorted.map((o) => (
                  <tr key={o.orderId} data-testid="order-row" data-order-id={o.orderId} data-status={o.status} className="hover:bg-slate-50">
                    <td className="px-2 py-2 first:pl-4 last:pr-4 sm:px-4 font-mono">
                      <Link href={`/orders/${o.orderId}`} className="text-indigo-700 underline-offset-2 hover:underline" title={o.orderId}>
                        {shortId(o.orderId)}
                      </Link>
                    </td>
                    <td className="hidden max-w-40 truncate px-2 py-2 sm:px-4 sm:table-cell">{o.customerId}</td>
                    <td className="hidden max-w-64 truncate px-2 py-2 sm:px-4 md:table-cell">{o.items.map((i) => `${productName(i.productId, products?.find((p) => p.productId === i.productId)?.name)} × ${i.quantity}`).join(', ')}</td>
                    <td className="px-2 py-2 first:pl-4 last:pr-4 sm:px-4 text-right tabular-nums">{formatMoney(o.total, o.currency, locale)}</td>
                    <td className="px-2 py-2 sm:px-4">
                      <StatusBadge status={o.status} />
                    </td>
                    <td className="px-2 py-2 first:pl-4 last:pr-4 sm:px-4 text-right tabular-nums text-slate-600">{formatAge(o.createdAt, now)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {olderCursor && (
              <div className="px-4 pt-3">
                <button
                  type="button"
                  onClick={() => void loadOlder()}
                  disabled={loadingOlder}
                  data-testid="older-orders"
                  className="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-50"
                >
                  {loadingOlder ? t('loading') : t('olderOrders')}
                </button>
              </div>
            )}
          </div>
        )}
      </Card>
    </div>
  );
}
