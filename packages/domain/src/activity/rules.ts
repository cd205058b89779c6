import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import { deviceFromUserAgent } from '../sessions/service.ts';
import { looksLikeBot } from './bots.ts';

/**
 * The privacy-preserving description of a recipient's client kept in a link's activity log (issue 18 item 1):
 * never the full address or User-Agent. Either the address truncated (IPv4 to its /24, IPv6 to its /48: the
 * network, not the household) or, when the operator prefers, a keyed hash of the full address (equal visitors
 * compare equal, nobody can read an address back without the key); the browser family and the OS; a bot flag.
 */
export type ClientAddressMode = 'truncate' | 'hash';

export interface ActivityClient {
  /** `203.0.113.0/24`, `2001:db8:1::/48`, or `h:<16 hex>` in hash mode; '' when unknown */
  network: string;
  browser: string;
  os: string;
  bot: boolean;
}

/** `a.b.c.0/24` for IPv4 (and IPv4-mapped IPv6), the first three groups + `::/48` for IPv6. */
export function truncateAddress(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const addr = mapped ? mapped[1]! : ip;
  if (isIP(addr) === 4) return `${addr.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIP(addr) !== 6) return '';
  const [head, tail] = addr.toLowerCase().split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 3)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/48`;
}

/** A keyed hash of the full address: stable per key, unreadable without it. */
export function hashAddress(ip: string, key: string): string {
  return `h:${createHmac('sha256', key).update(ip).digest('hex').slice(0, 16)}`;
}

export function describeClient(
  ip: string | undefined,
  userAgent: string | undefined,
  opts: { mode: ClientAddressMode; hashKey?: string },
): ActivityClient {
  const device = deviceFromUserAgent(userAgent);
  const network = !ip ? '' : opts.mode === 'hash' && opts.hashKey ? hashAddress(ip, opts.hashKey) : truncateAddress(ip);
  return { network, browser: device.deviceType, os: device.deviceOS, bot: looksLikeBot(userAgent) };
}
