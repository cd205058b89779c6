// Link activity (issue 18 item 1): the client description, the one bot list, and the log's SQL.
export { BOT_SIGNATURES, botProduct, looksLikeBot } from './bots.ts';
export { toLinkActivityEntryDto } from './dto.ts';
export {
  type ActivityCounts,
  activitySummary,
  deleteActivityOlderThan,
  insertActivity,
  listActivityPage,
} from './queries.ts';
export { type ActivityClient, type ClientAddressMode, describeClient, hashAddress, truncateAddress } from './rules.ts';
export { listLinkActivity, summarizeLinkActivity } from './service.ts';
