import { invalid } from '@immish/contracts';

/**
 * The operator's link policy (docs/spec.md §4.4, env `LINK_*` of contracts `LinksApiEnv`). A request that breaks a
 * rule gets a 400 naming the rule and its variable.
 *
 * Decisions:
 * - A new link that gives no `expiresAt` (field absent) gets `LINK_DEFAULT_EXPIRY_HOURS`; when that is 0 and
 *   `LINK_MAX_EXPIRY_DAYS` is set, it gets the maximum; otherwise it never expires. An explicit
 *   `expiresAt: null` asks for "never" and is refused while a maximum is set.
 * - On update a rule is checked when the request touches what it governs (expiry → maximum; password or
 *   allowUpload → the password rules), against the link's resulting state. Untouched fields of links
 *   created under an older policy are left alone, so an unrelated edit (a description) still works.
 */
export interface LinkPolicy {
  /** 0 = new links never expire by default */
  defaultExpiryHours: number;
  /** 0 = no maximum */
  maxExpiryDays: number;
  passwordRequired: boolean;
  uploadPasswordRequired: boolean;
}

export const permissiveLinkPolicy: LinkPolicy = {
  defaultExpiryHours: 0,
  maxExpiryDays: 0,
  passwordRequired: false,
  uploadPasswordRequired: false,
};

export function linkPolicyFromConfig(config: {
  LINK_DEFAULT_EXPIRY_HOURS: number;
  LINK_MAX_EXPIRY_DAYS: number;
  LINK_PASSWORD_REQUIRED: boolean;
  LINK_UPLOAD_PASSWORD_REQUIRED: boolean;
}): LinkPolicy {
  return {
    defaultExpiryHours: config.LINK_DEFAULT_EXPIRY_HOURS,
    maxExpiryDays: config.LINK_MAX_EXPIRY_DAYS,
    passwordRequired: config.LINK_PASSWORD_REQUIRED,
    uploadPasswordRequired: config.LINK_UPLOAD_PASSWORD_REQUIRED,
  };
}

const HOUR = 3_600_000;

const DAY = 24 * HOUR;

/** The expiry of a new link whose request gave none. */
export function defaultLinkExpiry(policy: LinkPolicy, now: Date): Date | null {
  if (policy.defaultExpiryHours > 0) {
    const byDefault = now.getTime() + policy.defaultExpiryHours * HOUR;
    const max = policy.maxExpiryDays > 0 ? now.getTime() + policy.maxExpiryDays * DAY : Number.POSITIVE_INFINITY;
    return new Date(Math.min(byDefault, max));
  }
  if (policy.maxExpiryDays > 0) return new Date(now.getTime() + policy.maxExpiryDays * DAY);
  return null;
}

/** Expiry rules: never in the past; within the maximum (which also forbids "never"). */
export function checkLinkExpiry(policy: LinkPolicy, expiresAt: Date | null, now: Date): void {
  if (expiresAt !== null && expiresAt.getTime() <= now.getTime()) {
    throw invalid(
      `expiresAt must be in the future (got ${expiresAt.toISOString()}); use null for a link that never expires`,
    );
  }
  if (policy.maxExpiryDays > 0) {
    const latest = new Date(now.getTime() + policy.maxExpiryDays * DAY);
    if (expiresAt === null) {
      throw invalid(
        `Link policy: links must expire within ${policy.maxExpiryDays} days (LINK_MAX_EXPIRY_DAYS); a never-expiring link is not allowed`,
      );
    }
    if (expiresAt.getTime() > latest.getTime()) {
      throw invalid(
        `Link policy: links must expire within ${policy.maxExpiryDays} days (LINK_MAX_EXPIRY_DAYS), i.e. by ${latest.toISOString()}`,
      );
    }
  }
}

/** Password rules, against the link's resulting state. */
export function checkLinkPassword(policy: LinkPolicy, link: { hasPassword: boolean; allowUpload: boolean }): void {
  if (link.hasPassword) return;
  if (policy.passwordRequired) {
    throw invalid('Link policy: every link must have a password (LINK_PASSWORD_REQUIRED)');
  }
  if (policy.uploadPasswordRequired && link.allowUpload) {
    throw invalid('Link policy: a link that allows upload must have a password (LINK_UPLOAD_PASSWORD_REQUIRED)');
  }
}
