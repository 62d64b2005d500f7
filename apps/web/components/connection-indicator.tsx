'use client';

import { useI18n } from '@/lib/i18n';
import type { ConnectionState } from '@/lib/use-status-socket';

const LOOK: Record<ConnectionState, { dot: string; text: string }> = {
  open: { dot: 'bg-emerald-500', text: 'text-emerald-800' },
  connecting: { dot: 'bg-slate-400 animate-pulse', text: 'text-slate-700' },
  reconnecting: { dot: 'bg-rose-500 animate-pulse', text: 'text-rose-800' },
};

/** Announced politely to screen readers when it changes. */
export function ConnectionIndicator({ state }: { state: ConnectionState }) {
  const { t } = useI18n();
  const label = state === 'open' ? t('connLive') : state === 'connecting' ? t('connConnecting') : t('connReconnecting');
  return (
    <p role="status" aria-live="polite" data-testid="connection" data-state={state} className={`inline-flex items-center gap-2 rounded-full bg-white px-3 py-1 text-sm ring-1 ring-slate-200 ${LOOK[state].text}`}>
      <span aria-hidden="true" className={`h-2.5 w-2.5 rounded-full ${LOOK[state].dot}`} />
      <span className="sr-only">{t('connectionLabel')}: </span>
      {label}
    </p>
  );
}
