'use client';

import Link from 'next/link';
import { Card } from '@/components/card';
import { useI18n } from '@/lib/i18n';
import { useSession } from '@/lib/session';

/** Shows its children to an operator only; anyone else is told to sign in as one. The services enforce the same. */
export function OperatorsOnly({ children }: { children: React.ReactNode }) {
  const { t } = useI18n();
  const { user } = useSession();
  if (user?.operator) return <>{children}</>;
  return (
    <Card>
      <p className="font-medium text-slate-900" data-testid="operators-only">
        {t('operatorsOnly')}
      </p>
      <p className="mt-1 text-sm text-slate-700">
        <Link href="/sign-in" className="text-indigo-700 underline">
          {t('operatorsOnlyHint')}
        </Link>
      </p>
    </Card>
  );
}
