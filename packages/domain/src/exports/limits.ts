import { isIPv4, isIPv6 } from 'node:net';
import { rateLimited } from '@immish/contracts';
import type { Db } from '@immish/db';
import { advisoryLock, clientPendingExports, linkExportCounts } from './queries.ts';

/**
 * Caps on the exports recipients can make (docs/spec.md §14 "limits are atomic"), so that nobody holding a link
 * can fill the export queue or the storage. Identical requests reuse an export (see `requestExport`) and
 * never reach these caps. Three counts, each checked and counted in one step:
 *
 * - pending per link: exports queued or being built through one link (`EXPORT_MAX_PENDING_PER_LINK`);
 * - pending per client: the same for one client address across every link (`EXPORT_MAX_PENDING_PER_CLIENT`);
 *   a client's finished archives do not hold it back — the per-link kept cap bounds them;
 * - kept per link: pending plus ready and not yet expired (`EXPORT_MAX_KEPT_PER_LINK`): the archives one link
 *   can keep in storage for EXPORT_TTL_HOURS.
 *
 * Atomicity: the caller's transaction first takes a transaction-scoped advisory lock on the link, then one on
 * the client, always in that order (so two requests never wait on each other crosswise), and only then
 * counts and inserts. Every request of a link (and every request of a client) is thereby serialized from its
 * count to its commit: under READ COMMITTED each count sees every export committed before the lock was
 * granted, so 20 concurrent requests against a cap of N create exactly N, on one gateway or many.
 */

export interface ExportLimits {
  maxPendingPerLink: number;
  maxPendingPerClient: number;
  maxKeptPerLink: number;
  /** who asked: see `exportClientKey` */
  clientKey: string;
}

/**
 * The client a per-client cap counts: its IPv4 address, or the /64 prefix of its IPv6 address (one
 * subscriber's network gets a whole /64, so counting single IPv6 addresses would let one client take
 * 2^64 places). IPv4-mapped IPv6 addresses count as their IPv4 address. Anything else is taken as is.
 * The address itself is what the HTTP layer trusts (`req.ip`: the socket, or the configured proxies').
 */
export function exportClientKey(address: string): string {
  let ip = address.trim().toLowerCase();
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(ip);
  if (mapped) ip = mapped[1]!;
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  const [head = '', tail] = ip.split('::');
  const hextets = (part: string) => (part === '' ? [] : part.split(':')).flatMap(toHextets);
  const front = hextets(head);
  const back = tail === undefined ? [] : hextets(tail);
  const groups = [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** One group of an IPv6 address as hextets; an embedded IPv4 tail (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`) is two. */
function toHextets(group: string): string[] {
  if (!group.includes('.')) return [group];
  const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

/**
 * Retry-After while exports being built hold a cap: about what one archive of photos takes to build; the
 * recipient's own export is meanwhile polled anyway.
 */
export const PENDING_EXPORT_RETRY_AFTER_SECONDS = 30;

// Advisory lock namespaces (the two-key form: class, hashtext of the id), distinct from the one-key
// content lock of owner requests, which lives in PostgreSQL's other advisory key space.
const LINK_LOCK_CLASS = 0x1e_0001;

const CLIENT_LOCK_CLASS = 0x1e_0002;

/** Serializes every export request of this link until the transaction ends (also makes reuse race-free). */
export async function lockLinkExports(trx: Db, sharedLinkId: string): Promise<void> {
  await advisoryLock(trx, LINK_LOCK_CLASS, sharedLinkId);
}

/**
 * Checks the caps for one more export of `sharedLinkId` asked by `limits.clientKey`, inside the transaction
 * that inserts it (the link lock already held): past a cap → 429 with Retry-After, and the caller's
 * transaction rolls back.
 */
export async function enforceExportLimits(trx: Db, sharedLinkId: string, limits: ExportLimits): Promise<void> {
  await advisoryLock(trx, CLIENT_LOCK_CLASS, limits.clientKey);
  const link = await linkExportCounts(trx, sharedLinkId);
  const { pending, kept } = link;
  if (pending >= limits.maxPendingPerLink) {
    throw rateLimited(
      `${pending} downloads are being prepared through this link already (at most ${limits.maxPendingPerLink} at once); try again in ${PENDING_EXPORT_RETRY_AFTER_SECONDS} seconds`,
      PENDING_EXPORT_RETRY_AFTER_SECONDS,
    );
  }
  if (kept >= limits.maxKeptPerLink) {
    const untilExpiry = Math.max(1, Number(link.secondsToFirstExpiry ?? PENDING_EXPORT_RETRY_AFTER_SECONDS));
    // Whichever frees a place first: a download being prepared finishing does not (it stays kept), an
    // archive expiring does; with none ready yet, the pending ones will be, and then expire.
    const seconds = pending === kept ? PENDING_EXPORT_RETRY_AFTER_SECONDS : untilExpiry;
    throw rateLimited(
      `This link keeps ${kept} prepared downloads already (at most ${limits.maxKeptPerLink}); download one of them, or try again in ${Math.ceil(seconds / 60)} minute(s) when the oldest has expired`,
      seconds,
    );
  }
  const clientPending = await clientPendingExports(trx, limits.clientKey);
  if (clientPending >= limits.maxPendingPerClient) {
    throw rateLimited(
      `${clientPending} of your downloads are being prepared already (at most ${limits.maxPendingPerClient} at once); try again in ${PENDING_EXPORT_RETRY_AFTER_SECONDS} seconds, once one is ready`,
      PENDING_EXPORT_RETRY_AFTER_SECONDS,
    );
  }
}
