import { describe, expect, it } from 'vitest';
import { botProduct, describeClient, hashAddress, truncateAddress } from '../src/activity/index.ts';

/** Issue 18 item 1: the coarse client kept in a link's activity log, and the one bot list (issue 19 reuses it). */
describe('truncateAddress', () => {
  it('should keep an IPv4 /24 and an IPv6 /48, never the full address', () => {
    expect(truncateAddress('203.0.113.77')).toBe('203.0.113.0/24');
    expect(truncateAddress('::ffff:198.51.100.9')).toBe('198.51.100.0/24');
    expect(truncateAddress('2001:db8:abcd:12:34::5')).toBe('2001:db8:abcd::/48');
    expect(truncateAddress('2001:db8::1')).toBe('2001:db8:0::/48');
    expect(truncateAddress('::1')).toBe('0:0:0::/48');
    expect(truncateAddress('not an address')).toBe('');
  });
});

describe('hashAddress', () => {
  it('should be stable per key, differ across keys and addresses, and not contain the address', () => {
    const a = hashAddress('203.0.113.77', 'k1');
    expect(a).toBe(hashAddress('203.0.113.77', 'k1'));
    expect(a).not.toBe(hashAddress('203.0.113.77', 'k2'));
    expect(a).not.toBe(hashAddress('203.0.113.78', 'k1'));
    expect(a).toMatch(/^h:[0-9a-f]{16}$/);
  });
});

describe('describeClient', () => {
  const chromeMac =
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
  it('should give the browser family, the OS and no bot flag for a browser', () => {
    expect(describeClient('203.0.113.77', chromeMac, { mode: 'truncate' })).toEqual({
      network: '203.0.113.0/24',
      browser: 'Chrome',
      os: 'macOS',
      bot: false,
    });
  });
  it('should hash when asked, and flag link-preview bots from the one list', () => {
    const c = describeClient('203.0.113.77', 'WhatsApp/2.23.20.0 A', { mode: 'hash', hashKey: 'k' });
    expect(c.network).toBe(hashAddress('203.0.113.77', 'k'));
    expect(c.bot).toBe(true);
    expect(botProduct('facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)')).toMatch(/Facebook/);
    expect(botProduct('Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)')).toBe('Discord embed');
    expect(botProduct(chromeMac)).toBeNull();
    expect(botProduct(undefined)).toBeNull();
  });
});
