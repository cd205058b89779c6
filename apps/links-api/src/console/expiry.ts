/**
 * The Create Shared Link form's "Expires" choices (the reference document's list) and the instant each one
 * means, used by the client bundle and by the server-rendered form that works without JavaScript.
 */
export const EXPIRY_CHOICES = ['never', 'm30', 'h1', 'h6', 'd1', 'd7', 'd30', 'mo3', 'y1'] as const;
export type ExpiryChoice = (typeof EXPIRY_CHOICES)[number];

const MINUTE = 60_000;
const FIXED_MS: Partial<Record<ExpiryChoice, number>> = {
  m30: 30 * MINUTE,
  h1: 60 * MINUTE,
  h6: 6 * 60 * MINUTE,
  d1: 24 * 60 * MINUTE,
  d7: 7 * 24 * 60 * MINUTE,
  d30: 30 * 24 * 60 * MINUTE,
};

export const isExpiryChoice = (value: string): value is ExpiryChoice =>
  (EXPIRY_CHOICES as readonly string[]).includes(value);

/** The chosen expiry as an ISO instant (null: never); months and years by the calendar, not a number of days. */
export function expiresAtFor(choice: string, now = new Date()): string | null {
  if (choice === 'mo3' || choice === 'y1') {
    const d = new Date(now);
    if (choice === 'mo3') d.setMonth(d.getMonth() + 3);
    else d.setFullYear(d.getFullYear() + 1);
    return d.toISOString();
  }
  const ms = isExpiryChoice(choice) ? FIXED_MS[choice] : undefined;
  return ms === undefined ? null : new Date(now.getTime() + ms).toISOString();
}
