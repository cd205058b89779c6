import { de } from './de.ts';
import { en, type Messages } from './en.ts';
import { es } from './es.ts';
import { fr } from './fr.ts';
import { ja } from './ja.ts';
import { pt } from './pt.ts';
import { zh } from './zh.ts';

/**
 * The share page's languages (issue 21 §7): one catalogue file per language beside this one; to add a language,
 * add its file (typed `Messages`, so no key can be missing) and one line to CATALOGUES. The page speaks the first
 * language of the browser's Accept-Language that has a catalogue, else English.
 */
export const CATALOGUES = { en, fr, de, es, pt, ja, zh } satisfies Record<string, Messages>;
export type Locale = keyof typeof CATALOGUES;
export type MessageKey = keyof Messages;
/** the keys with plural forms, named without their `_one` / `_other` ending */
type PluralKey = { [K in MessageKey]: K extends `${infer P}_other` ? P : never }[MessageKey];

const isLocale = (s: string): s is Locale => Object.hasOwn(CATALOGUES, s);

/** The best catalogue for an Accept-Language header ("fr-CH, fr;q=0.9, en;q=0.8"), by quality then order. */
export function pickLocale(acceptLanguage: string | undefined): Locale {
  if (!acceptLanguage) return 'en';
  const ranked = acceptLanguage
    .slice(0, 512)
    .split(',')
    .map((part, order) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { lang: tag.trim().toLowerCase().split('-')[0] ?? '', q: q === undefined ? 1 : Number(q), order };
    })
    .filter((l) => l.q > 0 && Number.isFinite(l.q))
    .sort((a, b) => b.q - a.q || a.order - b.order);
  return ranked.map((l) => l.lang).find(isLocale) ?? 'en';
}

export interface Translator {
  locale: Locale;
  /** a message, `{name}` placeholders filled (numbers through Intl.NumberFormat) */
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  /** a plural message: the form Intl.PluralRules picks for `n` */
  plural(key: PluralKey, n: number, vars?: Record<string, string | number>): string;
  /** a date (UTC), long form: "27 November 2026", "27 novembre 2026", "2026年11月27日" */
  longDate(d: Date): string;
  /** a date and time (UTC), medium form */
  dateTime(d: Date): string;
  /** a grouping heading: a day (`2026-07-10` → "Friday 10 July 2026") or a month (`2026-07` → "July 2026") */
  groupHeading(key: string): string;
}

const translators = new Map<Locale, Translator>();

export function translator(locale: Locale): Translator {
  const hit = translators.get(locale);
  if (hit) return hit;
  const messages: Messages = CATALOGUES[locale];
  const numbers = new Intl.NumberFormat(locale);
  const plurals = new Intl.PluralRules(locale);
  const long = new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : locale, { dateStyle: 'long', timeZone: 'UTC' });
  const medium = new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'UTC',
  });
  const dayHeading = new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : locale, {
    dateStyle: 'full',
    timeZone: 'UTC',
  });
  const monthHeading = new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : locale, {
    year: 'numeric',
    month: 'long',
    timeZone: 'UTC',
  });
  const fill = (text: string, vars: Record<string, string | number> = {}) =>
    text.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const v = vars[name];
      return v === undefined ? whole : typeof v === 'number' ? numbers.format(v) : v;
    });
  const t: Translator = {
    locale,
    t: (key, vars) => fill(messages[key], vars),
    plural: (key, n, vars) => {
      const form = plurals.select(n) === 'one' ? 'one' : 'other';
      return fill(messages[`${key}_${form}` as MessageKey], { n, ...vars });
    },
    longDate: (d) => long.format(d),
    dateTime: (d) => medium.format(d),
    groupHeading: (key) =>
      key.length === 7
        ? monthHeading.format(new Date(`${key}-01T00:00:00Z`))
        : dayHeading.format(new Date(`${key}T00:00:00Z`)),
  };
  translators.set(locale, t);
  return t;
}
