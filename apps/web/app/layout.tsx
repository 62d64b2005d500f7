import type { Metadata, Viewport } from 'next';
import { Header } from '@/components/header';
import { I18nProvider } from '@/lib/i18n';
import { RuntimeConfigProvider } from '@/lib/runtime-config';
import { SessionProvider } from '@/lib/session';
import './globals.css';

export const metadata: Metadata = {
  title: 'orderflow',
  description: 'Event-driven order processing: live dashboard, order form, tracking and operations.',
};

/** Rendered per request: each page carries the nonce of its Content-Security-Policy (proxy.ts). */
export const dynamic = 'force-dynamic';

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen font-sans">
        <I18nProvider>
          <RuntimeConfigProvider>
            <SessionProvider>
              <Header />
              <main id="main" className="mx-auto max-w-6xl px-4 py-6">
                {children}
              </main>
            </SessionProvider>
          </RuntimeConfigProvider>
        </I18nProvider>
      </body>
    </html>
  );
}
