/// <reference lib="dom" />
import { CLIENT_STRING_KEYS } from '../../views/i18n/client-keys.ts';
import { en } from '../../views/i18n/en.ts';

/**
 * The page's strings for what the bundle writes itself (tile labels, "3 selected", Play/Pause…): the server puts
 * the page language's templates in the page data (views/i18n, issue 21 §7); without them, English.
 */

// The English fallbacks are the server's own catalogue entries (one copy of each string): the few the bundle writes.
const ENGLISH: Record<string, string> = Object.fromEntries(CLIENT_STRING_KEYS.map((k) => [k, en[k]]));

let strings: Record<string, string> = ENGLISH;
let numbers = new Intl.NumberFormat('en');
let plurals = new Intl.PluralRules('en');

export function setStrings(locale: string | undefined, given: Record<string, string> | undefined): void {
  if (given) strings = { ...ENGLISH, ...given };
  if (locale) {
    try {
      numbers = new Intl.NumberFormat(locale);
      plurals = new Intl.PluralRules(locale);
    } catch {
      // an unknown locale: keep English numbers
    }
  }
}

export function t(key: string, vars: Record<string, string | number> = {}): string {
  return (strings[key] ?? key).replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = vars[name];
    return v === undefined ? whole : typeof v === 'number' ? numbers.format(v) : v;
  });
}

export const plural = (key: string, n: number): string =>
  t(`${key}_${plurals.select(n) === 'one' ? 'one' : 'other'}`, { n });

/** "Photo 3 of 120" */
export const itemLabel = (type: 'IMAGE' | 'VIDEO' | 'OTHER', i: number, n: number): string =>
  t(type === 'VIDEO' ? 'videoOf' : type === 'IMAGE' ? 'photoOf' : 'fileOf', { i, n });
