import { describe, expect, it } from 'vitest';
import { botProduct, looksLikeBot } from '../src/activity/index.ts';

/**
 * Issue 19 item 2: the link-preview bots of the chats a link gets pasted into are recognised by the one list
 * (activity/bots.ts), and people in in-app browsers are not.
 */
const PREVIEWERS: [string, string, RegExp][] = [
  ['Slack', 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', /Slack/],
  ['WhatsApp', 'WhatsApp/2.23.20.0 A', /WhatsApp/],
  ['Facebook', 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', /Facebook/],
  ['X', 'Twitterbot/1.0', /Twitter/],
  ['Discord', 'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)', /Discord/],
  ['Telegram', 'TelegramBot (like TwitterBot)', /Telegram/],
  ['LinkedIn', 'LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)', /LinkedIn/],
  [
    'Applebot',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)',
    /Apple/,
  ],
  [
    'iMessage',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0',
    /iMessage/,
  ],
  ['Teams', 'Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com', /Teams/],
  [
    'Teams (MicrosoftPreview)',
    'Mozilla/5.0 (compatible; MicrosoftPreview/2.0; +https://aka.ms/MicrosoftPreview)',
    /Teams/,
  ],
  ['Signal', 'WhatsApp/2', /WhatsApp/],
];

const PEOPLE = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/13.10.0.44 (like Safari/8618.2.12.10.5, panda)',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.38.108;]',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 340.0.3.20.105',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Pinterest for Android/12.40.0',
  'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Viber/22.6.0.0',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
];

describe('link-preview bot signatures', () => {
  for (const [name, ua, product] of PREVIEWERS) {
    it(`should recognise ${name}`, () => {
      expect(botProduct(ua)).toMatch(product);
      expect(looksLikeBot(ua)).toBe(true);
    });
  }

  it('should not take a person in a browser or an in-app browser for a bot', () => {
    for (const ua of PEOPLE) expect(botProduct(ua), ua).toBeNull();
    expect(botProduct('Viber')).toMatch(/Viber/);
  });
});
