/**
 * Link-preview bots and crawlers: the one list (issue 18 marks activity entries made by them; issue 19 reuses it).
 *
 * What it is for: telling a person opening a shared link from the machine that fetched it to draw a preview card
 * (a chat app, a social network, a mail client's safe-link scanner) or to index it. A match does not block anything;
 * it labels. Each entry is a case-insensitive substring of the User-Agent, named after the product that sends it.
 * Adding one: put the product's own token (from its documentation), never a browser's — a false positive hides a
 * real visitor's visit from the owner's summary.
 */
export const BOT_SIGNATURES: readonly { token: string; product: string }[] = [
  { token: 'facebookexternalhit', product: 'Facebook / Messenger / Instagram link preview' },
  { token: 'facebookcatalog', product: 'Facebook catalog crawler' },
  { token: 'meta-externalagent', product: 'Meta crawler' },
  { token: 'whatsapp', product: 'WhatsApp link preview' },
  { token: 'twitterbot', product: 'X (Twitter) card preview' },
  { token: 'slackbot', product: 'Slack link unfurl' },
  { token: 'slack-imgproxy', product: 'Slack image proxy' },
  { token: 'discordbot', product: 'Discord embed' },
  { token: 'telegrambot', product: 'Telegram link preview' },
  { token: 'linkedinbot', product: 'LinkedIn preview' },
  { token: 'skypeuripreview', product: 'Skype / Teams link preview' },
  { token: 'microsoftpreview', product: 'Microsoft Teams / Outlook preview' },
  { token: 'pinterest', product: 'Pinterest' },
  { token: 'redditbot', product: 'Reddit preview' },
  { token: 'embedly', product: 'Embedly' },
  { token: 'iframely', product: 'Iframely' },
  { token: 'mastodon', product: 'Mastodon link preview' },
  { token: 'bluesky', product: 'Bluesky card' },
  { token: 'applebot', product: 'Apple (iMessage previews, Siri)' },
  { token: 'googlebot', product: 'Google search' },
  { token: 'google-inspectiontool', product: 'Google inspection' },
  { token: 'googleother', product: 'Google crawler' },
  { token: 'bingbot', product: 'Bing search' },
  { token: 'bingpreview', product: 'Bing preview' },
  { token: 'duckduckbot', product: 'DuckDuckGo' },
  { token: 'yandexbot', product: 'Yandex' },
  { token: 'baiduspider', product: 'Baidu' },
  { token: 'petalbot', product: 'Petal search' },
  { token: 'vkshare', product: 'VK preview' },
  { token: 'line-poker', product: 'LINE preview' },
  { token: 'viber', product: 'Viber preview' },
  { token: 'snapchat', product: 'Snapchat preview' },
  { token: 'zoominfobot', product: 'ZoomInfo' },
];

const lowered = BOT_SIGNATURES.map((b) => b.token.toLowerCase());

/** The product whose preview bot or crawler sent this User-Agent, or null for (what looks like) a person. */
export function botProduct(userAgent: string | undefined): string | null {
  if (!userAgent) return null;
  const ua = userAgent.toLowerCase();
  const i = lowered.findIndex((t) => ua.includes(t));
  return i < 0 ? null : BOT_SIGNATURES[i]!.product;
}

export const looksLikeBot = (userAgent: string | undefined): boolean => botProduct(userAgent) !== null;
