import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { invalid } from '@immish/contracts';

/**
 * Where a webhook may be sent (issue 18 item 4, README "Webhooks and link activity"): the one copy of the rule, used
 * at registration (links-api) and before every attempt (webhook worker, which then connects to the address checked
 * here, so a DNS answer that changes in between — rebinding — changes nothing).
 */

/** Addresses a webhook never reaches unless WEBHOOK_ALLOW_PRIVATE=true: not the public internet. */
const forbidden = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  forbidden.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (and AWS's metadata fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // old site-local
  ['ff00::', 8], // multicast
] as const) {
  forbidden.addSubnet(net, bits, 'ipv6');
}

/** The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), if any. */
function embeddedIpv4(ip: string): string | null {
  const lower = ip.toLowerCase();
  const mapped = /^(?:0{0,4}:){0,5}ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1]!;
  const groups = expandIpv6(lower);
  if (!groups) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0))
    return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x2002) return v4(groups[1]!, groups[2]!);
  return null;
}

function expandIpv6(ip: string): number[] | null {
  let text = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const all = [...h, ...Array(fill).fill('0'), ...t].map((g) => Number.parseInt(g, 16));
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : null;
}

/** true when `ip` is not a public internet address (loopback, private, link-local, metadata, ULA, reserved). */
export function isNonPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return forbidden.check(ip, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(ip);
  if (v4 !== null && forbidden.check(v4, 'ipv4')) return true;
  return forbidden.check(ip, 'ipv6');
}

export interface WebhookTarget {
  url: URL;
  /** the address to connect to: checked, and the one the connection uses (never looked up again) */
  address: string;
  family: 4 | 6;
}

export interface TargetPolicy {
  /** WEBHOOK_ALLOW_PRIVATE: plain http and non-public addresses allowed */
  allowPrivate: boolean;
  /** how host names are resolved (default: the system resolver, every address) */
  resolve?: (host: string) => Promise<{ address: string; family: number }[]>;
}

const systemResolve = (host: string) => lookup(host, { all: true, verbatim: true });

/** The URL's form alone: absolute http(s), no credentials; https unless private targets are allowed. */
export function parseWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('url must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw invalid('url must use https');
  }
  if (url.username || url.password) throw invalid('url must not carry credentials');
  if (!url.hostname) throw invalid('url must name a host');
  return url;
}

/**
 * Resolves a webhook URL once and checks every address it resolves to (one non-public address refuses the URL:
 * a name that answers both is a rebinding setup). Returns the address to connect to. Refusals are 400s that name
 * the rule, never the address (the owner's own DNS is not news to them; an attacker probing learns nothing more).
 */
export async function resolveWebhookTarget(raw: string, policy: TargetPolicy): Promise<WebhookTarget> {
  const url = parseWebhookUrl(raw, policy.allowPrivate);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await (policy.resolve ?? systemResolve)(host);
    } catch {
      throw invalid('url host does not resolve');
    }
  }
  if (addresses.length === 0) throw invalid('url host does not resolve');
  if (!policy.allowPrivate && addresses.some((a) => isNonPublicAddress(a.address))) {
    throw invalid(
      'url resolves to a loopback, private, link-local or metadata address (allowed only with WEBHOOK_ALLOW_PRIVATE=true)',
    );
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * The wait before attempt `attempt + 1` after `attempt` failed ones (1-based), from WEBHOOK_RETRY_DELAYS_MS (the
 * last repeats), with ±20 % jitter so endpoints that failed together are not retried together.
 */
export function retryDelayMs(delays: readonly number[], attempt: number, random: () => number = Math.random): number {
  const base = delays[Math.min(attempt, delays.length) - 1] ?? delays[delays.length - 1] ?? 5000;
  return Math.round(base * (0.8 + 0.4 * random()));
}

export const parseRetryDelays = (text: string): number[] => text.split(',').map(Number);
