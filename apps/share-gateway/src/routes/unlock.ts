import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { SharedLinkLoginDto, SharedLinkResponseDto, ShareQuery } from '@immish/contracts';
import { appendEvents } from '@immish/db';
import { countLinkAssets, listLinkAssets, verifyLinkPassword } from '@immish/domain';
import { DomainError, forbidden, invalid, unauthenticated } from '@immish/runtime';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { toRecipientLinkDto } from '../link-dto.ts';
import { credentialOf } from '../link-resolver.ts';
import {
  admitVisit,
  type GatewayContext,
  isPreviewBot,
  linkPathSegment,
  logActivity,
  refuseUsedUp,
  setUnlockCookie,
} from '../recipient.ts';
import type { UnlockAttempt } from '../unlock.ts';

const err = { $ref: 'ErrorResponse#' };

const SHARE_PATH = /^\/(share|s)\/[^/?#\\]/;
const RETURN_BASE = 'http://return.invalid';

/**
 * `returnTo` of the share page's password form: only a same-site share path, so the form cannot be used as an
 * open redirect. A deep link (`/share/:key/photos/:assetId`) survives the password prompt.
 *
 * The answer goes into a `Location` header, which only takes printable ASCII: the path is normalised by the
 * WHATWG URL parser (what a browser does with it), which percent-encodes everything else (non-Latin letters,
 * emoji, spaces, quotes), so any value is either a clean share path or refused (then the link's own page),
 * never a 500. The checks run on the normalised form too, since that is where the browser goes.
 */
export function safeReturnTo(value: string | undefined): string | null {
  if (!value || value.length > 2048) return null;
  if (!SHARE_PATH.test(value)) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f\\]/.test(value) || value.includes('//')) return null;
  let url: URL;
  try {
    url = new URL(value, RETURN_BASE);
  } catch {
    return null;
  }
  if (url.origin !== RETURN_BASE) return null;
  const normalised = `${url.pathname}${url.search}`;
  // printable ASCII only, still a share path (`/share/../api` resolves elsewhere and is refused)
  if (!/^[\x21-\x7e]+$/.test(normalised) || !SHARE_PATH.test(normalised) || normalised.includes('//')) return null;
  return normalised;
}

/**
 * Best effort: a right password must unlock even if Redis fails at that moment. The budget tries the give-back
 * again in the background for a minute (runtime's AttemptBudget); only past that does the attempt stay counted
 * until its window ends (logged here when the first try fails).
 */
async function giveBack(attempt: UnlockAttempt, req: FastifyRequest): Promise<void> {
  try {
    await attempt.giveBack();
  } catch (e) {
    req.log.warn({ err: (e as Error).message }, 'unlock attempt not given back yet (tried again in the background)');
  }
}

const isFormPost = (req: FastifyRequest) =>
  (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');

function withParam(path: string, name: string, value: string): string {
  const url = new URL(path, 'http://x');
  url.searchParams.set(name, value);
  return `${url.pathname}${url.search}${url.hash}`;
}

/**
 * docs/spec.md §5.2: `POST /api/shared-links/login?key=|slug=` `{password}` (Immich's sharedLinkLogin) → 201 with the
 * link and an unlock cookie. The share page posts the same as a urlencoded form with `returnTo`, and gets a
 * 303 back to it (with `unlock_error=invalid_password|too_many_attempts` when it failed).
 */
export const unlockRoutes =
  (ctx: GatewayContext): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const { db, config } = ctx.deps;

    app.post(
      '/api/shared-links/login',
      {
        schema: {
          tags: ['shared-links'],
          querystring: ShareQuery,
          body: SharedLinkLoginDto,
          response: { 201: SharedLinkResponseDto, 303: {}, 400: err, 401: err, 429: err, 503: err },
        },
      },
      async (req, reply) => {
        const form = isFormPost(req);
        const credential = credentialOf(req);
        // not from the cache: a password changed a moment ago must be the one checked (and signed into the token)
        const link = await ctx.links.require(credential, { fresh: true });
        // limited links and link-preview bots (issue 19): a used-up link is 410, and a bot never unlocks anything
        refuseUsedUp(ctx, req, link);
        if (isPreviewBot(req)) throw forbidden('Link-preview bots cannot unlock a link');
        const back = safeReturnTo(req.body.returnTo) ?? `/share/${encodeURIComponent(linkPathSegment(link))}`;
        const fail = (reason: string, error: DomainError, r: FastifyReply) => {
          if (!form) throw error;
          return r.redirect(withParam(back, 'unlock_error', reason), 303);
        };
        if (!link.link.password_hash) throw invalid('This shared link has no password');
        // the attempt is counted before the password is hashed (atomically: see UnlockThrottle)
        let attempt: UnlockAttempt;
        try {
          attempt = await ctx.throttle.reserve(link.link.id, req.ip);
        } catch (e) {
          if (e instanceof DomainError && e.kind === 'rate-limited')
            logActivity(ctx, req, link.link.id, 'unlock-throttled');
          if (e instanceof DomainError && e.kind === 'rate-limited' && form) {
            reply.header('retry-after', String(e.retryAfterSeconds ?? 60));
            return fail('too_many_attempts', e, reply);
          }
          throw e;
        }
        let right: boolean;
        try {
          right = await ctx.passwordVerifications.run(() => verifyLinkPassword(link.link, req.body.password));
        } catch (e) {
          await giveBack(attempt, req); // not verified (this process is busy): not a wrong password
          throw e;
        }
        if (!right) {
          logActivity(ctx, req, link.link.id, 'unlock-failed');
          return fail('invalid_password', unauthenticated('Invalid password'), reply);
        }
        logActivity(ctx, req, link.link.id, 'unlock');
        await giveBack(attempt, req); // the budget is of wrong passwords
        // a new unlock of a visit-limited link is a visit (one already admitted keeps its visit)
        if (link.link.max_visits !== null && ctx.limits.admission(req, link) === 'none') {
          try {
            await admitVisit(ctx, req, link);
          } catch (e) {
            if (form && e instanceof DomainError && e.kind === 'gone') return reply.redirect(back, 303); // its page says "used up"
            throw e;
          }
        }
        await db.transaction().execute((trx) =>
          appendEvents(trx, [
            {
              type: 'shared-link.unlocked',
              actor: { type: 'link', id: link.link.id },
              subject: { type: 'shared-link', id: link.link.id },
              data: { linkId: link.link.id },
              correlationId: String(req.id),
            },
          ]),
        );
        setUnlockCookie(ctx, req, reply, link);
        if (form) return reply.redirect(back, 303);
        const individual = link.link.type === 'INDIVIDUAL';
        const assets = individual ? await listLinkAssets(db, link) : [];
        const count = individual ? assets.length : await countLinkAssets(db, link);
        return reply.status(201).send(toRecipientLinkDto(config.PUBLIC_URL, link, assets, count));
      },
    );
  };
