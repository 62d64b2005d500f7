'use client';

import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { type Language, MESSAGES, type MessageKey, STATUS_LABELS, STEP_LABELS } from './messages';
import type { OrderStatus, StepName } from './types';

const STORAGE_KEY = 'orderflow.language';

interface I18n {
  language: Language;
  locale: string;
  setLanguage(language: Language): void;
  t(key: MessageKey, values?: Record<string, string | number>): string;
  statusLabel(status: OrderStatus): string;
  stepLabel(step: StepName): string;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: React.ReactNode }) {
  // English on the server and in the first render; the remembered choice applies right after hydration.
  const [language, setLanguageState] = useState<Language>('en');
  useEffect(() => {
    const stored = window.localStorage.getItem(STORAGE_KEY);
    if (stored === 'en' || stored === 'ja') setLanguageState(stored);
  }, []);
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  const setLanguage = useCallback((next: Language) => {
    window.localStorage.setItem(STORAGE_KEY, next);
    setLanguageState(next);
  }, []);
  const value = useMemo<I18n>(
    () => ({
      language,
      locale: language === 'ja' ? 'ja-JP' : 'en-US',
      setLanguage,
      t: (key, values) => {
        let text: string = MESSAGES[language][key];
        for (const [name, v] of Object.entries(values ?? {})) text = text.replaceAll(`{${name}}`, String(v));
        return text;
      },
      statusLabel: (status) => STATUS_LABELS[language][status],
      stepLabel: (step) => STEP_LABELS[language][step],
    }),
    [language, setLanguage],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
