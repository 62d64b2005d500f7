'use client';

import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useCallback, useEffect, useState } from 'react';
import { Card } from '@/components/card';
import { ConnectionIndicator } from '@/components/connection-indicator';
import { StatusBadge } from '@/components/status-badge';
import { callService } from '@/lib/api';
import { formatDateTime, formatMoney, formatTime } from '@/lib/format';
import { useI18n } from '@/lib/i18n';
import { newer } from '@/lib/orders';
import { useProductName } from '@/lib/runtime-config';
import { CANCELLABLE, type OrderView, STEP_NAMES } from '@/lib/types';
import { useStatusSocket } from '@/lib/use-status-socket';

const STEP_LOOK = {
  done: { circle: 'bg-emerald-600 text-white', line: 'bg-emerald-600', icon: '✓' },
  failed: { circle: 'bg-rose-600 text-white', line: 'bg-rose-300', icon: '✕' },
  pending: { circle: 'bg-white text-slate-500 ring-2 ring-slate-300', line: 'bg-slate-200', icon: '' },
} as const;

export default function TrackingPage() {
  const params = useParams<{ id: string }>();
  const orderId = params.id;
  const { t, locale, stepLabel } = useI18n();
  const productName = useProductName();
  const [order, setOrder] = useState<OrderView | null>(null);
  const [notFound, setNotFound] = useState(false);
  const [cancelState, setCancelState] = useState<{ busy: boolean; message: string | null; error: string | null }>({ busy: false, message: null, error: null });

  const refetch = useCallback(async () => {
    const result = await callService<OrderView>('status', `/status/${encodeURIComponent(orderId)}`);
    if (result.ok) {
      setOrder((current) => newer(current ?? undefined, result.body));
      setNotFound(false);
    } else if (result.status === 404) setNotFound(true);
  }, [orderId]);

  useEffect(() => {
    void refetch();
  }, [refetch]);

  const connection = useStatusSocket(`/ws/${encodeURIComponent(orderId)}`, {
    onOrder: (update) => {
      if (update.orderId === orderId) setOrder((current) => newer(current ?? undefined, update));
    },
    // Whatever happened while the socket was down: fetch the current view.
    onOpen: () => void refetch(),
  });

  const cancel = async () => {
    setCancelState({ busy: true, message: null, error: null });
    const result = await callService<{ status: string }>('order', `/orders/${encodeURIComponent(orderId)}/cancel`, { method: 'POST' });
    setCancelState(result.ok ? { busy: false, message: t('cancelRequested'), error: null } : { busy: false, message: null, error: result.error.message });
  };

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div className="min-w-0">
          <Link href="/" className="text-sm text-indigo-700 underline-offset-2 hover:underline">
            ← {t('backToDashboard')}
          </Link>
          <h1 className="mt-1 break-all text-xl font-bold sm:text-2xl">
            {t('trackingTitle', { id: '' })}
            <span className="font-mono text-lg font-semibold sm:text-xl">{orderId}</span>
          </h1>
        </div>
        <ConnectionIndicator state={connection} />
      </div>

      {!order ? (
        <Card>
          <p className="text-sm text-slate-600" role="status">
            {notFound ? t('waitingForOrder') : t('loading')}
          </p>
        </Card>
      ) : (
        <>
          <Card>
            <div className="flex flex-wrap items-center justify-between gap-3">
              <div className="flex flex-wrap items-center gap-3">
                <span className="text-sm text-slate-600">{t('status')}:</span>
                <span data-testid="order-status" data-status={order.status}>
                  <StatusBadge status={order.status} />
                </span>
                <span className="text-sm text-slate-600">
                  {t('total')}: <span className="font-semibold text-slate-900 tabular-nums">{formatMoney(order.total, order.currency, locale)}</span>
                </span>
              </div>
              {CANCELLABLE.includes(order.status) && (
                <button
                  type="button"
                  onClick={() => void cancel()}
                  disabled={cancelState.busy}
                  className="rounded-md border border-rose-300 bg-white px-4 py-2 text-sm font-semibold text-rose-700 hover:bg-rose-50 disabled:opacity-50"
                >
                  {cancelState.busy ? t('cancelling') : t('cancelOrder')}
                </button>
              )}
            </div>
            {(cancelState.message || cancelState.error) && (
              <p role={cancelState.error ? 'alert' : 'status'} className={`mt-2 text-sm ${cancelState.error ? 'text-rose-700' : 'text-slate-700'}`}>
                {cancelState.error ?? cancelState.message}
              </p>
            )}
            <ul className="mt-3 text-sm text-slate-700">
              {order.items.map((item) => (
                <li key={item.productId}>
                  {productName(item.productId)} × {item.quantity} · {formatMoney(item.unitPrice * item.quantity, order.currency, locale)}
                </li>
              ))}
            </ul>
            {order.customerId && (
              <p className="mt-1 text-sm text-slate-500">
                {t('customer')}: {order.customerId}
              </p>
            )}
          </Card>

          {order.failureReason && (
            <div role="alert" className="rounded-xl border border-rose-200 bg-rose-50 p-4 text-rose-900" data-testid="failure-reason">
              <p className="text-sm font-semibold">{t('failureReason')}</p>
              <p className="mt-1">{order.failureReason}</p>
            </div>
          )}

          {order.trackingNumber && (
            <div className="rounded-xl border border-emerald-200 bg-emerald-50 p-4 text-emerald-900" data-testid="shipment">
              <dl className="flex flex-wrap gap-x-8 gap-y-1">
                <div>
                  <dt className="text-sm">{t('trackingNumber')}</dt>
                  <dd className="font-mono text-lg font-semibold" data-testid="tracking-number">
                    {order.trackingNumber}
                  </dd>
                </div>
                {order.carrier && (
                  <div>
                    <dt className="text-sm">{t('carrier')}</dt>
                    <dd className="text-lg font-semibold">{order.carrier}</dd>
                  </div>
                )}
              </dl>
            </div>
          )}

          <Card title={t('progress')}>
            <ol className="grid gap-3 sm:grid-cols-5 sm:gap-0" data-testid="steps">
              {STEP_NAMES.map((name, i) => {
                const step = order.steps[name] ?? { state: 'pending' as const, at: null };
                const look = STEP_LOOK[step.state];
                const stateLabel = step.state === 'done' ? t('stepDone') : step.state === 'failed' ? t('stepFailed') : t('stepPending');
                return (
                  <li key={name} className="relative flex items-center gap-3 sm:flex-col sm:gap-1 sm:text-center" data-step={name} data-state={step.state}>
                    {i > 0 && <span aria-hidden="true" className={`absolute top-4 right-1/2 hidden h-0.5 w-full -translate-x-4 sm:block ${look.line}`} />}
                    <span aria-hidden="true" className={`relative z-10 flex h-8 w-8 shrink-0 items-center justify-center rounded-full text-sm font-bold ${look.circle}`}>
                      {look.icon || i + 1}
                    </span>
                    <span className="text-sm font-medium">{stepLabel(name)}</span>
                    <span className="text-xs text-slate-500">
                      <span className="sr-only sm:not-sr-only">
                        {stateLabel}
                        {step.at && ' · '}
                      </span>
                      {step.at && formatTime(step.at, locale)}
                    </span>
                  </li>
                );
              })}
            </ol>
          </Card>

          <Card title={t('timeline')}>
            {order.timeline.length === 0 ? (
              <p className="text-sm text-slate-600">{t('noEvents')}</p>
            ) : (
              <ol className="relative space-y-3 border-l border-slate-200 pl-5" data-testid="timeline">
                {order.timeline.map((entry) => (
                  <li key={entry.eventId} className="relative">
                    <span aria-hidden="true" className="absolute top-1.5 -left-[25px] h-2.5 w-2.5 rounded-full bg-indigo-500 ring-4 ring-white" />
                    <div className="flex flex-wrap items-baseline gap-x-3">
                      <span className="font-medium">{entry.type}</span>
                      <time dateTime={entry.occurredAt} className="text-xs tabular-nums text-slate-500">
                        {formatDateTime(entry.occurredAt, locale)}
                      </time>
                      <span className="text-xs text-slate-400">{entry.source}</span>
                    </div>
                    {entry.detail && <p className="text-sm text-slate-600">{entry.detail}</p>}
                  </li>
                ))}
              </ol>
            )}
          </Card>
        </>
      )}
    </div>
  );
}
