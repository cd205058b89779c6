import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { countLinkAssets, recordLinkActivity } from '../link-assets.ts';
import { credentialOf } from '../link-resolver.ts';
import { type GatewayContext, isUnlocked } from '../recipient.ts';

/**
 * STUB share page (SPEC §5.4), to be replaced by the page engineer: minimal HTML for "Link not found" (404),
 * "This link expired on <date>" (410), the password form, and a placeholder for an open link. It shows how
 * a page uses the link resolution (`ctx.links.lookup`) and unlock (`isUnlocked`) modules.
 */
const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head><body><main>${body}</main></body></html>`;

const UNLOCK_ERRORS: Record<string, string> = {
  invalid_password: 'Wrong password, try again.',
  too_many_attempts: 'Too many wrong passwords. Try again later.',
};

export const pageRoutes =
  (ctx: GatewayContext): FastifyPluginAsync =>
  async (app) => {
    const { db } = ctx.deps;

    async function render(req: FastifyRequest, reply: FastifyReply) {
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
      const credential = credentialOf(req);
      const found = credential ? await ctx.links.lookup(credential) : ({ status: 'not-found' } as const);
      if (found.status === 'not-found') {
        return reply.status(404).send(page('Link not found', '<h1>Link not found</h1>'));
      }
      if (found.status === 'expired') {
        const date = found.expiresAt.toISOString().slice(0, 10);
        return reply
          .status(410)
          .send(page('Link expired', `<h1>This link expired on <time datetime="${date}">${date}</time></h1>`));
      }
      const link = found.link;
      if (!isUnlocked(ctx, req, link)) {
        const q = (req.query ?? {}) as Record<string, unknown>;
        const message = typeof q.unlock_error === 'string' ? UNLOCK_ERRORS[q.unlock_error] : undefined;
        const param = link.link.slug
          ? `slug=${encodeURIComponent(link.link.slug)}`
          : `key=${encodeURIComponent(link.link.key)}`;
        const returnTo = req.url.split('?')[0] ?? '/';
        return reply
          .status(401)
          .send(
            page(
              'Password required',
              `<h1>Password required</h1>${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}<form method="post" action="/api/shared-links/login?${escapeHtml(param)}"><input type="hidden" name="returnTo" value="${escapeHtml(returnTo)}"><label for="password">Password</label> <input id="password" name="password" type="password" required autofocus> <button type="submit">Open</button></form>`,
            ),
          );
      }
      const count = await countLinkAssets(db, link);
      await recordLinkActivity(db, link.link.id, 'view', 1, String(req.id));
      const title = link.album?.name || link.link.description || 'Shared photos';
      return reply.send(page(title, `<h1>${escapeHtml(title)}</h1><p>${count} shared photos &amp; videos</p>`));
    }

    const Segment = Type.String({ minLength: 1, maxLength: 512 });
    app.get('/share/:key', { schema: { params: Type.Object({ key: Segment }) } }, render);
    app.get('/s/:slug', { schema: { params: Type.Object({ slug: Segment }) } }, render);
    app.get(
      '/share/:key/photos/:assetId',
      { schema: { params: Type.Object({ key: Segment, assetId: Type.String({ maxLength: 64 }) }) } },
      render,
    );
  };
