import type { MessageKey } from './index.ts';

/** The messages the bundle writes itself (client/browser/i18n.ts has their English fallbacks), sent in the page data. */
export const CLIENT_STRING_KEYS: MessageKey[] = [
  'photoOf',
  'videoOf',
  'fileOf',
  'livePhoto',
  'selected_one',
  'selected_other',
  'selectItem',
  'play',
  'pause',
  'download',
  'downloadPreview',
  'preparing',
  'uploadReviewPending_one',
  'uploadReviewPending_other',
];
