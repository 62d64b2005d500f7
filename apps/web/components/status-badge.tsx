'use client';

import { useI18n } from '@/lib/i18n';
import type { OrderStatus } from '@/lib/types';

export const STATUS_COLORS: Record<OrderStatus, string> = {
  PENDING: 'bg-slate-100 text-slate-800 ring-slate-300',
  INVENTORY_CONFIRMED: 'bg-sky-50 text-sky-800 ring-sky-300',
  PAID: 'bg-indigo-50 text-indigo-800 ring-indigo-300',
  COMPLETED: 'bg-emerald-50 text-emerald-800 ring-emerald-300',
  CANCELLED_NO_STOCK: 'bg-amber-50 text-amber-900 ring-amber-300',
  PAYMENT_FAILED: 'bg-rose-50 text-rose-800 ring-rose-300',
  SHIPMENT_FAILED: 'bg-rose-50 text-rose-800 ring-rose-300',
  CANCELLED: 'bg-zinc-100 text-zinc-700 ring-zinc-300',
};

export const STATUS_BAR_COLORS: Record<OrderStatus, string> = {
  PENDING: 'bg-slate-400',
  INVENTORY_CONFIRMED: 'bg-sky-500',
  PAID: 'bg-indigo-500',
  COMPLETED: 'bg-emerald-500',
  CANCELLED_NO_STOCK: 'bg-amber-500',
  PAYMENT_FAILED: 'bg-rose-500',
  SHIPMENT_FAILED: 'bg-rose-400',
  CANCELLED: 'bg-zinc-400',
};

export function StatusBadge({ status }: { status: OrderStatus }) {
  const { statusLabel } = useI18n();
  return (
    <span data-status={status} className={`inline-flex items-center whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${STATUS_COLORS[status]}`}>
      {statusLabel(status)}
    </span>
  );
}
