export { toSharedLinkResponseDto } from './dto.ts';
export {
  DOWNLOADS_USED_UP_MESSAGE,
  isLimitedLink,
  LINK_USED_UP_MESSAGE,
  type LinkUse,
  linkUsedUp,
  UPLOADS_USED_UP_MESSAGE,
  usedUp,
  usedUpError,
  useLimit,
} from './limits.ts';
export { addSharedLinkAssets, removeSharedLinkAssets } from './link-assets.ts';
export { type LinkPolicy, linkPolicyFromConfig, permissiveLinkPolicy } from './policy.ts';
export {
  consumeLinkUse,
  countLinkAssets,
  findLinksWithAssets,
  type LinkAssetPosition,
  type LinkUseOutcome,
  type LinkWithAssets,
  linkAssetIdsAmong,
  linkAssetIdsExcept,
  linkAssetPosition,
  listLinkAssets,
  type ShowingLink,
  shownAssetIdByChecksum,
  slugTaken,
} from './queries.ts';
export { requireLinkAsset, requireLinkVideo } from './recipient.ts';
export { linkExpired, looksLikeLinkKey, normalizeSlug, SLUG_RULE, slugProblem, verifyLinkPassword } from './rules.ts';
export {
  createSharedLink,
  deleteSharedLink,
  getSharedLink,
  type LinkContext,
  listSharedLinks,
  updateSharedLink,
} from './service.ts';
export { createSharedLinkStore, type SharedLinkStore } from './store.ts';
