import { DomainError } from '@immish/contracts';
import { describe, expect, it } from 'vitest';
import { albumRoleGrants, checkLinkAccess, linkAccessRefusal } from '../src/access.ts';
import { checkLinkExpiry, checkLinkPassword, defaultLinkExpiry, type LinkPolicy } from '../src/shared-links/policy.ts';
import {
  isValidSlug,
  LINK_KEY_LENGTH,
  linkExpired,
  linkState,
  looksLikeLinkKey,
  newLinkKey,
  shareUrl,
  slugProblem,
} from '../src/shared-links/rules.ts';
import { requestedExpiry } from '../src/shared-links/service.ts';

/** Unit tests of the link rules: no database, no HTTP (the routes' tests cover those paths end to end). */

const refusal = (f: () => unknown): { status: number; message: string } | null => {
  try {
    f();
    return null;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { status: err.statusCode, message: err.message };
  }
};

describe('slug rule', () => {
  it('should take 3–40 letters, digits, - and _', () => {
    for (const ok of ['abc', 'Grandma-2026', 'a_b-c', 'x'.repeat(40)]) expect(isValidSlug(ok)).toBe(true);
    for (const bad of ['ab', 'x'.repeat(41), 'with space', 'émile', 'a/b', 'a.b', '']) {
      expect(isValidSlug(bad)).toBe(false);
    }
  });

  it('should refuse reserved words whatever their case, saying so', () => {
    expect(slugProblem('API')).toMatch(/reserved word/);
    expect(slugProblem('share')).toMatch(/reserved word/);
    expect(slugProblem('photos')).toMatch(/reserved word/);
    expect(slugProblem('photos-2026')).toBeNull();
  });

  it('should build the share URL from the slug when there is one, else the key, without a doubled slash', () => {
    expect(shareUrl('https://x.test/', { key: 'k', slug: 'grandma' })).toBe('https://x.test/share/grandma');
    expect(shareUrl('https://x.test//', { key: 'k-1_', slug: null })).toBe('https://x.test/share/k-1_');
  });

  it('should make unguessable keys of the advertised length that look like keys', () => {
    const keys = new Set(Array.from({ length: 50 }, newLinkKey));
    expect(keys.size).toBe(50);
    for (const k of keys) {
      expect(k).toHaveLength(LINK_KEY_LENGTH);
      expect(looksLikeLinkKey(k)).toBe(true);
    }
    expect(looksLikeLinkKey('grandma')).toBe(false);
  });
});

describe('link expiry', () => {
  const now = new Date('2026-12-05T12:00:00Z');

  it('should expire a link AT its expiry, for rows and DTOs alike', () => {
    expect(linkExpired({ expires_at: now }, now)).toBe(true);
    expect(linkExpired({ expires_at: new Date(now.getTime() + 1) }, now)).toBe(false);
    expect(linkExpired({ expires_at: null }, now)).toBe(false);
    expect(linkState({ expiresAt: '2026-12-05T11:59:59.999Z' }, now)).toBe('expired');
    expect(linkState({ expiresAt: null }, now)).toBe('active');
  });

  it('should read PATCH expiry the docs/spec.md §4.4 way: changeExpiryTime decides, else expiresAt as given', () => {
    expect(requestedExpiry({ changeExpiryTime: true })).toBeNull();
    expect(requestedExpiry({ changeExpiryTime: true, expiresAt: '2027-01-01T00:00:00Z' })).toBe('2027-01-01T00:00:00Z');
    expect(requestedExpiry({ changeExpiryTime: false, expiresAt: '2027-01-01T00:00:00Z' })).toBeUndefined();
    expect(requestedExpiry({})).toBeUndefined();
    expect(requestedExpiry({ expiresAt: null })).toBeNull();
  });
});

describe('link policy', () => {
  const now = new Date('2026-12-05T12:00:00Z');
  const policy = (p: Partial<LinkPolicy>): LinkPolicy => ({
    defaultExpiryHours: 0,
    maxExpiryDays: 0,
    passwordRequired: false,
    uploadPasswordRequired: false,
    ...p,
  });
  const hours = (h: number) => new Date(now.getTime() + h * 3_600_000);

  it('should default the expiry to LINK_DEFAULT_EXPIRY_HOURS, capped by the maximum, else the maximum, else never', () => {
    expect(defaultLinkExpiry(policy({ defaultExpiryHours: 48 }), now)).toEqual(hours(48));
    expect(defaultLinkExpiry(policy({ defaultExpiryHours: 48, maxExpiryDays: 1 }), now)).toEqual(hours(24));
    expect(defaultLinkExpiry(policy({ maxExpiryDays: 7 }), now)).toEqual(hours(24 * 7));
    expect(defaultLinkExpiry(policy({}), now)).toBeNull();
  });

  it('should refuse a past expiry, and "never" or beyond the maximum when one is set, naming the rule', () => {
    expect(refusal(() => checkLinkExpiry(policy({}), now, now))?.message).toMatch(/must be in the future/);
    expect(refusal(() => checkLinkExpiry(policy({}), null, now))).toBeNull();
    expect(refusal(() => checkLinkExpiry(policy({ maxExpiryDays: 7 }), null, now))?.message).toMatch(
      /LINK_MAX_EXPIRY_DAYS/,
    );
    expect(refusal(() => checkLinkExpiry(policy({ maxExpiryDays: 7 }), hours(24 * 7 + 1), now))?.status).toBe(400);
    expect(refusal(() => checkLinkExpiry(policy({ maxExpiryDays: 7 }), hours(24 * 7), now))).toBeNull();
  });

  it('should require a password on every link, or on links that allow uploads, as configured', () => {
    const every = policy({ passwordRequired: true });
    const uploads = policy({ uploadPasswordRequired: true });
    expect(refusal(() => checkLinkPassword(every, { hasPassword: false, allowUpload: false }))?.message).toMatch(
      /LINK_PASSWORD_REQUIRED/,
    );
    expect(refusal(() => checkLinkPassword(every, { hasPassword: true, allowUpload: true }))).toBeNull();
    expect(refusal(() => checkLinkPassword(uploads, { hasPassword: false, allowUpload: false }))).toBeNull();
    expect(refusal(() => checkLinkPassword(uploads, { hasPassword: false, allowUpload: true }))?.message).toMatch(
      /LINK_UPLOAD_PASSWORD_REQUIRED/,
    );
  });
});

describe('role table (docs/spec.md §4.3)', () => {
  it('should give viewers read and download only, editors everything but deleting the album, owners all', () => {
    expect([...albumRoleGrants.viewer].sort()).toEqual(['album.download', 'album.read']);
    expect(albumRoleGrants.editor.has('album.delete')).toBe(false);
    for (const p of albumRoleGrants.editor) expect(albumRoleGrants.owner.has(p)).toBe(true);
    expect(albumRoleGrants.owner.size).toBe(albumRoleGrants.editor.size + 1);
  });
});

describe('recipient access (checkLinkAccess)', () => {
  const open = { allow_download: true, allow_upload: true };
  const closed = { allow_download: false, allow_upload: false };
  const a = '0d6f2c1e-6a53-4d6e-9a0b-3f1c2d4e5f60';
  const b = '7e1b9f0a-2c3d-4e5f-8a9b-0c1d2e3f4a5b';

  it('should let a recipient view what the link shows, and nothing else (400, like a missing asset)', () => {
    expect(linkAccessRefusal(closed, 'link.view', [a], [a])).toBeNull();
    expect(linkAccessRefusal(closed, 'link.view', [a.toUpperCase()], [a])).toBeNull();
    expect(refusal(() => checkLinkAccess(open, 'link.view', [a, b], [a]))).toEqual({
      status: 400,
      message: 'Asset not found in this shared link',
    });
    expect(linkAccessRefusal(closed, 'link.view')).toBeNull();
  });

  it('should refuse downloads (403) and uploads (401, as Immich) the link does not allow, before membership', () => {
    expect(refusal(() => checkLinkAccess(closed, 'link.download', [a], []))?.status).toBe(403);
    expect(refusal(() => checkLinkAccess(closed, 'link.upload'))).toEqual({
      status: 401,
      message: 'This shared link does not allow uploads',
    });
    expect(linkAccessRefusal(open, 'link.download', [a], [a])).toBeNull();
    expect(linkAccessRefusal(open, 'link.upload')).toBeNull();
  });
});
