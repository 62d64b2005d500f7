'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useI18n } from '@/lib/i18n';
import type { MessageKey } from '@/lib/messages';
import { useSession } from '@/lib/session';

/** The dashboard and operations show every order and the switches: an operator's pages. */
const LINKS: { href: string; label: MessageKey; operators?: true }[] = [
  { href: '/', label: 'navDashboard', operators: true },
  { href: '/orders/new', label: 'navNewOrder' },
  { href: '/operations', label: 'navOperations', operators: true },
];

export function Header() {
  const { t, language, setLanguage } = useI18n();
  const { user, signOut } = useSession();
  const pathname = usePathname();
  return (
    <header className="border-b border-slate-200 bg-white">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-10 focus:rounded focus:bg-white focus:px-3 focus:py-2">
        {t('skipToContent')}
      </a>
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
        <Link href="/" className="text-lg font-bold tracking-tight text-indigo-700">
          {t('appName')}
        </Link>
        <nav aria-label={t('mainNav')} className="order-3 w-full sm:order-none sm:w-auto">
          <ul className="flex gap-1">
            {LINKS.filter((link) => !link.operators || user?.operator).map((link) => {
              const current = link.href === '/' ? pathname === '/' : pathname === link.href;
              return (
                <li key={link.href}>
                  <Link
                    href={link.href}
                    aria-current={current ? 'page' : undefined}
                    className={`block rounded-md px-3 py-2 text-sm font-medium ${current ? 'bg-indigo-50 text-indigo-700' : 'text-slate-700 hover:bg-slate-100'}`}
                  >
                    {t(link.label)}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <div className="ml-auto flex items-center gap-2 text-sm" data-testid="session">
          {user ? (
            <>
              <span className="text-slate-700" data-testid="signed-in-as">
                {t('signedInAs', { who: `${user.subject} (${t(user.operator ? 'roleOperator' : 'roleCustomer')})` })}
              </span>
              <button type="button" onClick={signOut} className="rounded-md px-2.5 py-1.5 text-slate-700 hover:bg-slate-100" data-testid="sign-out">
                {t('signOut')}
              </button>
            </>
          ) : (
            <Link href="/sign-in" className="rounded-md px-2.5 py-1.5 font-medium text-indigo-700 hover:bg-indigo-50" data-testid="sign-in-link">
              {t('signIn')}
            </Link>
          )}
        </div>
        <div className="flex items-center gap-1" role="group" aria-label={t('language')}>
          {(['en', 'ja'] as const).map((lang) => (
            <button
              key={lang}
              type="button"
              lang={lang}
              aria-pressed={language === lang}
              onClick={() => setLanguage(lang)}
              className={`rounded-md px-2.5 py-1.5 text-sm ${language === lang ? 'bg-slate-800 text-white' : 'text-slate-700 hover:bg-slate-100'}`}
            >
              {lang === 'en' ? 'English' : '日本語'}
            </button>
          ))}
        </div>
      </div>
    </header>
  );
}
