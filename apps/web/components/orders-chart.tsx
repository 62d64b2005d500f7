'use client';

import { useI18n } from '@/lib/i18n';

/** Orders per minute as bars in inline SVG; the numbers are also given as text for screen readers. */
export function OrdersChart({ buckets }: { buckets: { minute: string; count: number }[] }) {
  const { t, locale } = useI18n();
  const peak = Math.max(1, ...buckets.map((b) => b.count));
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  const width = 300;
  const height = 100;
  const gap = 2;
  const barWidth = buckets.length > 0 ? width / buckets.length - gap : 0;
  const label = (iso: string | undefined) => (iso ? new Date(iso).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' }) : '');
  const summary = t('chartSummary', { count: total, peak: Math.max(0, ...buckets.map((b) => b.count)) });
  return (
    <figure>
      <div className="flex gap-2">
        <div className="flex flex-col justify-between text-right text-xs text-slate-500" aria-hidden="true">
          <span>{peak}</span>
          <span>0</span>
        </div>
        <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" className="h-32 w-full" role="img" aria-label={summary} data-testid="orders-chart">
          <line x1="0" y1={height - 0.5} x2={width} y2={height - 0.5} className="stroke-slate-300" strokeWidth="1" />
          {buckets.map((b, i) => {
            const h = (b.count / peak) * (height - 4);
            return (
              <rect key={b.minute} x={i * (width / buckets.length) + gap / 2} y={height - h} width={barWidth} height={h} rx="1" className="fill-indigo-500">
                <title>{`${label(b.minute)}: ${b.count}`}</title>
              </rect>
            );
          })}
        </svg>
      </div>
      <figcaption className="mt-1 flex justify-between pl-6 text-xs text-slate-500">
        <span>{label(buckets[0]?.minute)}</span>
        <span className="sr-only">{summary}</span>
        <span>{label(buckets.at(-1)?.minute)}</span>
      </figcaption>
    </figure>
  );
}
