import Type from 'typebox';
import { IsoDateTime, Uuid } from '../common.ts';

/**
 * A shared link's activity log, as its owner reads it (issue 18 item 1, README "Link activity log"):
 * `GET /api/shared-links/:id/activity` and `/activity/summary` on links-api.
 */

/** What a recipient did; the same names as the `link_activity.action` column. */
export const LINK_ACTIVITY_ACTIONS = [
  'visit',
  'unlock',
  'unlock-failed',
  'unlock-throttled',
  'download-original',
  'export-requested',
  'export-ready',
  'export-downloaded',
  'upload',
] as const;
export type LinkActivityActionName = (typeof LINK_ACTIVITY_ACTIONS)[number];
export const LinkActivityActionSchema = Type.Enum([...LINK_ACTIVITY_ACTIONS], {
  description:
    'visit (page or /me; repeated views within 30 minutes are one visit), unlock, unlock-failed, unlock-throttled, download-original, export-requested, export-ready, export-downloaded, upload',
});

export const LINK_ACTIVITY_MAX_LIMIT = 200;
export const LINK_ACTIVITY_DEFAULT_LIMIT = 50;

export const LinkActivityQuery = Type.Object({
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page (opaque)' }),
  ),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: LINK_ACTIVITY_MAX_LIMIT,
      default: LINK_ACTIVITY_DEFAULT_LIMIT,
      description: `entries per page (1–${LINK_ACTIVITY_MAX_LIMIT}, default ${LINK_ACTIVITY_DEFAULT_LIMIT})`,
    }),
  ),
  action: Type.Optional(LinkActivityActionSchema),
});
export type LinkActivityQuery = Type.Static<typeof LinkActivityQuery>;

export const LinkActivityEntryDto = Type.Object({
  id: Type.String({ description: 'entry id (increasing with insertion)' }),
  at: IsoDateTime,
  action: LinkActivityActionSchema,
  assetId: Type.Union([Uuid, Type.Null()]),
  exportId: Type.Union([Uuid, Type.Null()]),
  client: Type.Object({
    network: Type.String({
      description:
        "the client's network, never its full address: `203.0.113.0/24`, `2001:db8:1::/48`, or `h:<16 hex>` (a keyed hash) per ACTIVITY_IP_MODE; '' when not from a recipient (export-ready)",
    }),
    browser: Type.String({ description: 'browser family from the User-Agent' }),
    os: Type.String({ description: 'operating system from the User-Agent' }),
    bot: Type.Boolean({ description: 'the User-Agent is a link-preview bot or crawler (never counted as a visit)' }),
  }),
});
export type LinkActivityEntryDto = Type.Static<typeof LinkActivityEntryDto>;

export const LinkActivityPageDto = Type.Object({
  items: Type.Array(LinkActivityEntryDto, { description: 'newest first' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'pass as `cursor` for the next page; null at the end',
  }),
});
export type LinkActivityPageDto = Type.Static<typeof LinkActivityPageDto>;

const Counts = {
  visits: Type.Integer({ description: 'visits by people (bots excluded; one per client per 30 minutes)' }),
  uniqueVisitors: Type.Integer({ description: 'distinct client networks (or hashes) among those visits' }),
  downloads: Type.Integer({ description: 'originals and export archives downloaded' }),
  uploads: Type.Integer({ description: 'files received' }),
};

export const LinkActivitySummaryDto = Type.Object({
  ...Counts,
  days: Type.Array(Type.Object({ day: Type.String({ description: 'UTC date, YYYY-MM-DD' }), ...Counts }), {
    description: 'days with activity, oldest first (within the retention period)',
  }),
});
export type LinkActivitySummaryDto = Type.Static<typeof LinkActivitySummaryDto>;
