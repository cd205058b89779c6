import type { AssetRow } from '@immish/db';
import { durationMs, videoPlayback } from '@immish/domain';
import { canStripMetadata } from '@immish/media';
import type { Translator } from './i18n/index.ts';

/**
 * What the share page shows of an asset. `toViewItem` is the ONE place that reads asset rows for the page:
 * when the link hides metadata, `meta` is null and nothing else carries a file name, date, EXIF or GPS, so no
 * template can leak them by mistake (docs/spec.md §5.3).
 */

export interface ViewMeta {
  fileName: string;
  /** label → value, in display order, only the fields the asset has */
  fields: [string, string][];
}

export interface ViewItem {
  id: string;
  type: 'IMAGE' | 'VIDEO' | 'OTHER';
  width: number | null;
  height: number | null;
  /** "0:12" for videos */
  duration: string | null;
  hasThumbnail: boolean;
  thumbhash: Buffer | null;
  /** what per-photo download serves: the original, the full-size preview (original not strippable), or none */
  download: 'original' | 'preview' | null;
  /** zooming in may show the original: downloads allowed and a format every browser shows */
  zoomOriginal: boolean;
  /** a video the page plays inline (`/assets/:id/video`: its rendition, or the web-playable original) */
  playable: boolean;
  /** a Live Photo's still: its motion plays (muted) while the still is pressed or hovered */
  livePhoto: boolean;
  meta: ViewMeta | null;
  /** the day it was taken (local date, `YYYY-MM-DD`) for grouping; null when the link hides metadata */
  day: string | null;
}

/** what an <img> shows in every browser (an original in another format stays behind its preview) */
const BROWSER_IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif']);

export interface LinkView {
  showMetadata: boolean;
  allowDownload: boolean;
  /** labels and dates of the metadata panel in the page's language */
  tr: Translator;
}

export function formatDuration(ms: number | null): string | null {
  if (ms === null) return null;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const trimNumber = (n: number, digits: number) => String(Number(n.toFixed(digits)));

function formatPlace(lat: number | null, lon: number | null): string | null {
  if (lat === null || lon === null || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  const ns = lat >= 0 ? 'N' : 'S';
  const ew = lon >= 0 ? 'E' : 'W';
  return `${Math.abs(lat).toFixed(5)}° ${ns}, ${Math.abs(lon).toFixed(5)}° ${ew}`;
}

function formatExposure(row: AssetRow): string | null {
  const parts: string[] = [];
  if (row.exif_exposure_time) {
    const t = row.exif_exposure_time.trim();
    parts.push(/s$/.test(t) ? t : `${t} s`);
  }
  if (row.exif_f_number !== null) parts.push(`f/${trimNumber(row.exif_f_number, 1)}`);
  if (row.exif_focal_length !== null) parts.push(`${trimNumber(row.exif_focal_length, 1)} mm`);
  if (row.exif_iso !== null) parts.push(`ISO ${row.exif_iso}`);
  return parts.length ? parts.join(' · ') : null;
}

function metaOf(tr: Translator, row: AssetRow): ViewMeta {
  const fields: [string, string | null][] = [
    [tr.t('fieldDate'), tr.dateTime(row.exif_date_time_original ?? row.local_date_time)],
    [tr.t('fieldCamera'), [row.exif_make, row.exif_model].filter(Boolean).join(' ') || null],
    [tr.t('fieldLens'), row.exif_lens_model],
    [tr.t('fieldExposure'), formatExposure(row)],
    [tr.t('fieldPlace'), formatPlace(row.exif_latitude, row.exif_longitude)],
    [tr.t('fieldSize'), row.width && row.height ? `${row.width} × ${row.height}` : null],
    [tr.t('fieldDescription'), row.exif_description],
  ];
  return {
    fileName: row.original_file_name,
    fields: fields.filter((f): f is [string, string] => typeof f[1] === 'string' && f[1].length > 0),
  };
}

export function toViewItem(link: LinkView, row: AssetRow): ViewItem {
  const hidden = !link.showMetadata;
  let download: ViewItem['download'] = null;
  if (link.allowDownload) download = hidden && !canStripMetadata(row.mime_type) ? 'preview' : 'original';
  return {
    id: row.id,
    type: row.type,
    width: row.width,
    height: row.height,
    duration: row.type === 'VIDEO' ? formatDuration(durationMs(row.duration)) : null,
    hasThumbnail: row.thumbnail_key !== null,
    thumbhash: row.thumbhash,
    download,
    zoomOriginal: download === 'original' && row.type === 'IMAGE' && BROWSER_IMAGE_TYPES.has(row.mime_type),
    playable: row.type === 'VIDEO' && canPlay(link, row),
    livePhoto: row.type === 'IMAGE' && row.live_photo_video_id !== null,
    meta: hidden ? null : metaOf(link.tr, row),
    // local_date_time is the wall-clock time where it was taken, stored as UTC (as Immich groups its timeline)
    day: hidden ? null : row.local_date_time.toISOString().slice(0, 10),
  };
}

/**
 * Playing is viewing, like a preview (allowed when downloads are disabled, as Immich); a link that hides metadata
 * plays a rendition (it carries none) or an original that can be stripped losslessly (MP4/MOV), never a WebM.
 */
function canPlay(link: LinkView, row: AssetRow): boolean {
  const playback = videoPlayback(row);
  if (!playback) return false;
  return link.showMetadata || playback.source === 'rendition' || canStripMetadata(row.mime_type);
}
