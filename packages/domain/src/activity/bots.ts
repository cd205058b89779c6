/**
 * Link-preview bots and crawlers: the one list (issue 18 marks activity entries made by them; issue 19 gives them
 * the Open Graph card only). README "Link-preview bots" documents it.
 *
 * What it is for: telling a person opening a shared link from the machine that fetched it to draw a preview card
 * (a chat app, a social network, a mail client's safe-link scanner) or to index it. The activity log labels such
 * requests; the share gateway gives them the link's Open Graph card and nothing else: they never consume a use of
 * a limited link, never count as a view, never unlock a link, and get 403 on the content routes of a limited link.
 * Each entry is a case-insensitive substring of the User-Agent (`prefix`: only at its start), named after the
 * product that sends it; the first entry that matches names the product. Adding one: put the product's own token
 * (from its documentation), never a browser's or an in-app browser's ("Snapchat/…", "Pinterest for iOS",
 * "Viber/…" inside a Mozilla string, "FBAN", "Instagram" are PEOPLE in in-app browsers) — a false positive shows
 * a person a preview card instead of the photos, and hides their visit from the owner's summary.
 *
 * What cannot be detected: a previewer that sends a browser's User-Agent. Signal fetches previews on the sender's
 * own device (no server, no address range to recognise); the Signal apps we know send the short `WhatsApp/2`, so
 * they are matched as WhatsApp, and a Signal build sending a browser's string would count as a person. The same
 * holds for any app that previews through a plain embedded browser.
 */
export const BOT_SIGNATURES: readonly { token: string; product: string; prefix?: true }[] = [
  // iMessage / Messages (Apple): the sending device fetches the card with "… facebookexternalhit/1.1 Facebot
  // Twitterbot/1.0" appended to a Safari string; listed before both tokens so it is named for what it is
  { token: 'facebot twitterbot', product: 'iMessage link preview (Apple Messages)' },
  { token: 'facebookexternalhit', product: 'Facebook / Messenger / Instagram link preview' },
  { token: 'facebookcatalog', product: 'Facebook catalog crawler' },
  { token: 'meta-externalagent', product: 'Meta crawler' },
  { token: 'whatsapp', product: 'WhatsApp link preview' },
  // Telegram's says "TelegramBot (like TwitterBot)": before Twitterbot
  { token: 'telegrambot', product: 'Telegram link preview' },
  { token: 'twitterbot', product: 'X (Twitter) card preview' },
  { token: 'slackbot', product: 'Slack link unfurl' },
  { token: 'slack-imgproxy', product: 'Slack image proxy' },
  { token: 'discordbot', product: 'Discord embed' },
  { token: 'linkedinbot', product: 'LinkedIn preview' },
  { token: 'skypeuripreview', product: 'Skype / Teams link preview' },
  { token: 'microsoftpreview', product: 'Microsoft Teams / Outlook preview' },
  { token: 'pinterestbot', product: 'Pinterest' },
  { token: 'pinterest/0.', product: 'Pinterest' },
  { token: 'redditbot', product: 'Reddit preview' },
  { token: 'embedly', product: 'Embedly' },
  { token: 'iframely', product: 'Iframely' },
  { token: '(mastodon/', product: 'Mastodon link preview' },
  { token: 'cardyb', product: 'Bluesky card' },
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
  { token: 'viber', product: 'Viber preview', prefix: true },
  { token: 'snap url preview', product: 'Snapchat preview' },
  { token: 'zoominfobot', product: 'ZoomInfo' },
];

const lowered = BOT_SIGNATURES.map((b) => ({ token: b.token.toLowerCase(), prefix: b.prefix === true }));

/** The product whose preview bot or crawler sent this User-Agent, or null for (what looks like) a person. */
export function botProduct(userAgent: string | undefined): string | null {
  if (!userAgent) return null;
  const ua = userAgent.toLowerCase().trimStart();
  const i = lowered.findIndex((t) => (t.prefix ? ua.startsWith(t.token) : ua.includes(t.token)));
  return i < 0 ? null : BOT_SIGNATURES[i]!.product;
}

export const looksLikeBot = (userAgent: string | undefined): boolean => botProduct(userAgent) !== null;
