'use client';

import { useRouter } from 'next/navigation';
import { type FormEvent, useState } from 'react';
import { Card } from '@/components/card';
import { useI18n } from '@/lib/i18n';
import { useRuntimeConfig } from '@/lib/runtime-config';
import { useSession } from '@/lib/session';

const isJwtWithSubject = (token: string) => {
  try {
    const claims: unknown = JSON.parse(atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/')));
    return typeof claims === 'object' && claims !== null && 'sub' in claims && typeof claims.sub === 'string';
  } catch {
    return false;
  }
};

export default function SignInPage() {
  const { t } = useI18n();
  const config = useRuntimeConfig();
  const { signIn } = useSession();
  const router = useRouter();
  const [customerId, setCustomerId] = useState('customer-1');
  const [pasted, setPasted] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  const devSignIn = async (role: 'customer' | 'operator') => {
    setProblem(null);
    const response = await fetch('/api/dev-sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(role === 'customer' ? { role, customerId } : { role }),
    });
    const body: unknown = await response.json().catch(() => null);
    if (response.ok && typeof body === 'object' && body !== null && 'accessToken' in body && typeof body.accessToken === 'string') {
      signIn(body.accessToken);
      router.push(role === 'operator' ? '/' : '/orders/new');
      return;
    }
    setProblem(typeof body === 'object' && body !== null && 'message' in body ? String(body.message) : `HTTP ${response.status}`);
  };

  const tokenSignIn = (event: FormEvent) => {
    event.preventDefault();
    const token = pasted.trim();
    if (!isJwtWithSubject(token)) {
      setProblem(t('tokenInvalid'));
      return;
    }
    signIn(token);
    router.push('/');
  };

  return (
    <div className="max-w-xl space-y-6">
      <h1 className="text-2xl font-bold text-slate-900">{t('signInTitle')}</h1>
      {problem && (
        <p role="alert" className="text-sm text-rose-700" data-testid="sign-in-error">
          {problem}
        </p>
      )}
      {config?.auth.devSignIn && (
        <Card title={t('devSignInTitle')}>
          <p className="mb-3 text-sm text-amber-800">{t('devSignInNote')}</p>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void devSignIn('customer');
            }}
            className="flex flex-wrap items-end gap-2"
          >
            <div>
              <label htmlFor="sign-in-customer" className="block text-sm font-medium text-slate-800">
                {t('customerId')}
              </label>
              <input
                id="sign-in-customer"
                value={customerId}
                onChange={(event) => setCustomerId(event.target.value)}
                className="mt-1 rounded-md border border-slate-300 px-3 py-2"
              />
            </div>
            <button type="submit" className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-medium text-white hover:bg-indigo-700" data-testid="sign-in-customer">
              {t('signInAsCustomer')}
            </button>
          </form>
          <button
            type="button"
            onClick={() => void devSignIn('operator')}
            className="mt-3 rounded-md bg-slate-800 px-3 py-2 text-sm font-medium text-white hover:bg-slate-900"
            data-testid="sign-in-operator"
          >
            {t('signInAsOperator')}
          </button>
        </Card>
      )}
      <Card title={t('tokenSignInTitle')}>
        <p className="mb-3 text-sm text-slate-700">{t('tokenSignInNote')}</p>
        <form onSubmit={tokenSignIn} className="space-y-2">
          <label htmlFor="access-token" className="block text-sm font-medium text-slate-800">
            {t('accessToken')}
          </label>
          <textarea id="access-token" value={pasted} onChange={(event) => setPasted(event.target.value)} rows={3} className="w-full rounded-md border border-slate-300 px-3 py-2 font-mono text-xs" />
          <button type="submit" className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-medium text-white hover:bg-indigo-700">
            {t('signIn')}
          </button>
        </form>
      </Card>
    </div>
  );
}
