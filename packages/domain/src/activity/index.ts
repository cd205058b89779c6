// Link activity (issue 18 item 1): so far the client description and the one bot list; the log itself is to come.
export { BOT_SIGNATURES, botProduct, looksLikeBot } from './bots.ts';
export { type ActivityClient, type ClientAddressMode, describeClient, hashAddress, truncateAddress } from './rules.ts';
