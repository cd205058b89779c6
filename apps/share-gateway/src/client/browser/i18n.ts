/// <reference lib="dom" />

/**
 * The page's strings for what the bundle writes itself (tile labels, "3 selected", Play/Pause…): the server puts
 * the page language's templates in the page data (views/i18n, issue 21 §7); without them, English.
 */

const ENGLISH: Record<string, string> = {
  photoOf: 'Photo {i} of {n}',
  videoOf: 'Video {i} of {n}',
  fileOf: 'File {i} of {n}',
  livePhoto: 'Live Photo',
  selected_one: '{n} selected',
  selected_other: '{n} selected',
  selectItem: 'Select {label}',
  play: 'Play',
  pause: 'Pause',
  download: 'Download',
  downloadPreview: 'Download preview',
  preparing: 'Preparing the archive…',
  preparingProgress: 'Preparing the archive\u2026 {pct}% ({done} of {total})',
  waitingArchive: 'Waiting for the archive to start\u2026',
  downloadStarting: 'Your download is starting.',
  downloadParts: 'Ready in {n} archives: the first one is starting, download the others below.',
  downloadFailed: 'Download failed: {error}',
  archiveEmpty: 'The archive is empty',
  uploadWaiting: 'Waiting',
  uploadFailed: 'Failed',
  uploadDone: 'Uploaded',
  uploadDuplicate: 'Already there',
  uploadProgressOf: 'Upload progress of {name}',
  uploadedSummary: '{done} uploaded. New photos appear here once they are processed.',
  uploadedSummaryFailed: '{done} uploaded, {failed} failed. New photos appear here once they are processed.',
  refresh: 'Refresh',
  networkError: 'Network error',
  cancelled: 'Cancelled',
  serverAnswered: 'The server answered {status}',
  fileRefused: 'The file was refused',
  shareFetching: 'Getting the files\u2026 {i} of {n}',
  shareFailed: 'Could not share: {error}',
  linkCopied: 'Link copied',
  uploadReviewPending_one: "Your {n} photo is waiting for the owner's review.",
  uploadReviewPending_other: "Your {n} photos are waiting for the owner's review.",
};

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
