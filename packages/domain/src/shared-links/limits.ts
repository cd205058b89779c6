import { forbidden, gone, invalid, type SharedLinkCreateDto, type SharedLinkEditDto } from '@immish/contracts';
import type { SharedLinkRow } from '@immish/db';

/**
 * Limited links (issue 19 item 1, README "Limited links"): the rules. A link may cap its recipient visits, the
 * downloads started through it and the files uploaded through it; each cap is a positive integer or null (none).
 *
 * Decisions:
 * - Only an exhausted `maxVisits` closes the whole link (410 "used up" on every route, like an expired link, for
 *   recipients not admitted before). An exhausted `maxDownloads` refuses further downloads (403) while viewing
 *   goes on; an exhausted `maxUploads` refuses further uploads (403) likewise.
 * - A use is counted only while its cap is set: `…Used` starts from 0 when a cap is first set, and keeps its
 *   value when the cap is raised, lowered or cleared. Raising or clearing a cap makes the link work again.
 * - Counting is one conditional UPDATE in PostgreSQL (queries.ts `consumeLinkUse`): whatever the concurrency,
 *   never more uses than the cap.
 */
export type LinkUse = 'visit' | 'download' | 'upload';

export type LinkLimitColumns = Pick<
  SharedLinkRow,
  'max_visits' | 'max_downloads' | 'max_uploads' | 'visits_used' | 'downloads_used' | 'uploads_used'
>;

/** The cap and the counter column of each use. */
export const LIMIT_COLUMNS = {
  visit: { max: 'max_visits', used: 'visits_used' },
  download: { max: 'max_downloads', used: 'downloads_used' },
  upload: { max: 'max_uploads', used: 'uploads_used' },
} as const satisfies Record<LinkUse, { max: keyof LinkLimitColumns; used: keyof LinkLimitColumns }>;

/** The cap on a use, or null when there is none. */
export const useLimit = (link: LinkLimitColumns, use: LinkUse): number | null => link[LIMIT_COLUMNS[use].max];

/** Has this use reached its cap (as far as this row knows)? */
export function usedUp(link: LinkLimitColumns, use: LinkUse): boolean {
  const max = useLimit(link, use);
  return max !== null && link[LIMIT_COLUMNS[use].used] >= max;
}

/** Does the link have any cap? (A link-preview bot gets no content of such a link, only its card.) */
export const isLimitedLink = (link: LinkLimitColumns): boolean =>
  link.max_visits !== null || link.max_downloads !== null || link.max_uploads !== null;

/** Only an exhausted visit cap closes the whole link. */
export const linkUsedUp = (link: LinkLimitColumns): boolean => usedUp(link, 'visit');

export const LINK_USED_UP_MESSAGE = 'This shared link has been used up; ask the person who shared it for a new link';
export const DOWNLOADS_USED_UP_MESSAGE =
  'This shared link allows no more downloads (its download limit has been reached); you can still view the photos';
export const UPLOADS_USED_UP_MESSAGE = 'This shared link accepts no more uploads (its upload limit has been reached)';

/** The refusal once a use is exhausted: 410 for the link itself, 403 for its downloads or uploads. */
export function usedUpError(use: LinkUse) {
  if (use === 'visit') return gone(LINK_USED_UP_MESSAGE);
  return forbidden(use === 'download' ? DOWNLOADS_USED_UP_MESSAGE : UPLOADS_USED_UP_MESSAGE);
}

const MAX_LIMIT = 2_147_483_647;

/**
 * A cap as given: a positive integer or null (none). The HTTP schema refuses anything else first; this guards the
 * other callers (the console's forms post text).
 */
function checkedLimit(field: string, value: number | null | undefined): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) {
    throw invalid(`${field} must be a positive integer (or empty/null for no limit)`);
  }
  return value;
}

/** The caps of a new link (absent = none). */
export function limitValuesOf(
  dto: SharedLinkCreateDto,
): Pick<LinkLimitColumns, 'max_visits' | 'max_downloads' | 'max_uploads'> {
  return {
    max_visits: checkedLimit('maxVisits', dto.maxVisits) ?? null,
    max_downloads: checkedLimit('maxDownloads', dto.maxDownloads) ?? null,
    max_uploads: checkedLimit('maxUploads', dto.maxUploads) ?? null,
  };
}

/** What a PATCH changes of the caps (absent = keep, null = clear), and the names of the changed fields. */
export function limitChangesOf(
  current: LinkLimitColumns,
  dto: SharedLinkEditDto,
): { set: Partial<Pick<LinkLimitColumns, 'max_visits' | 'max_downloads' | 'max_uploads'>>; changed: string[] } {
  const set: Partial<Pick<LinkLimitColumns, 'max_visits' | 'max_downloads' | 'max_uploads'>> = {};
  const changed: string[] = [];
  for (const [field, column] of [
    ['maxVisits', 'max_visits'],
    ['maxDownloads', 'max_downloads'],
    ['maxUploads', 'max_uploads'],
  ] as const) {
    const value = checkedLimit(field, dto[field]);
    if (value !== undefined && value !== current[column]) {
      set[column] = value;
      changed.push(field);
    }
  }
  return { set, changed };
}

/** The limit fields of a link's response DTO. */
export function limitFieldsOf(link: LinkLimitColumns) {
  return {
    maxVisits: link.max_visits,
    maxDownloads: link.max_downloads,
    maxUploads: link.max_uploads,
    visitsUsed: link.visits_used,
    downloadsUsed: link.downloads_used,
    uploadsUsed: link.uploads_used,
  };
}
