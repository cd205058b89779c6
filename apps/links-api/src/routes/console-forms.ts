import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { UserRow } from '@immish/db';
import {
  addAlbumMembers,
  createAlbum,
  deleteSharedLink,
  getAlbumDto,
  getSharedLink,
  type LinkContext,
  linkPolicyFromConfig,
  listAlbumAssets,
  listAlbumDtos,
  removeAlbumMember,
  requireAccess,
  type Sessions,
  updateAlbum,
  updateAlbumMemberRole,
  updateSharedLink,
} from '@immish/domain';
import { DomainError, invalid, notFound } from '@immish/runtime';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import Type from 'typebox';
import { expiresAtFor } from '../console/expiry.ts';
import { deleteLinkPage, editLinkPage } from '../console/form-views.ts';
import { en } from '../console/strings.en.ts';
import { albumPage, albumsPage, budgetBytes, type ConsoleAssets, type Notice } from '../console/views.ts';
import type { LinksApiDeps } from '../deps.ts';
import { assertSameOrigin, clearSessionCookies, sessionCookieOf } from '../sign-in.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The Create Shared Link form's fields as posted (unticked checkboxes are not sent): `/links/new` and the edit page. */
export const LINK_FORM_FIELDS = {
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  expires: Type.Optional(Type.String({ maxLength: 10 })),
  allowDownload: Type.Optional(Type.String({ maxLength: 10 })),
  allowUpload: Type.Optional(Type.String({ maxLength: 10 })),
  showMetadata: Type.Optional(Type.String({ maxLength: 10 })),
  password: Type.Optional(Type.String({ maxLength: 1024 })),
  slug: Type.Optional(Type.String({ maxLength: 200 })),
  // limited links (issue 19): empty = no limit
  maxVisits: Type.Optional(Type.String({ maxLength: 12 })),
  maxDownloads: Type.Optional(Type.String({ maxLength: 12 })),
  maxUploads: Type.Optional(Type.String({ maxLength: 12 })),
  uploadReview: Type.Optional(Type.String({ maxLength: 10 })),
  maxUploadMb: Type.Optional(Type.String({ maxLength: 32 })),
};

/** The limits of a posted link form: an empty field is "no limit" (null); anything else must be a positive integer. */
export function formLimits(b: { maxVisits?: string; maxDownloads?: string; maxUploads?: string }) {
  const limit = (v: string | undefined) => (v === undefined || v.trim() === '' ? null : Number(v.trim()));
  return { maxVisits: limit(b.maxVisits), maxDownloads: limit(b.maxDownloads), maxUploads: limit(b.maxUploads) };
}
/** Photos per album page, like the library's. */
export const ALBUM_PAGE_SIZE = 500;

/**
 * The result a redirect after a form post names (`?notice=…`): only these keys, so a crafted URL cannot put
 * text of its choosing on the page.
 */
const NOTICES = {
  linkSaved: en.links.saved,
  linkDeleted: en.links.deleted,
  albumCreated: en.albums.created,
  albumSaved: en.albums.savedNotice,
  memberInvited: en.albums.inviteDone,
  roleChanged: en.albums.roleChanged,
  memberRemoved: en.albums.removed,
  albumLeft: en.albums.left,
} as const;
export type NoticeKey = keyof typeof NOTICES;
export const NoticeQuery = Type.Optional(Type.String({ maxLength: 32 }));
export function noticeFor(key: string | undefined): Notice | null {
  return key && Object.hasOwn(NOTICES, key) ? { text: NOTICES[key as NoticeKey], error: false } : null;
}

const html = (reply: FastifyReply, headers: Record<string, string>) =>
  reply.headers(headers).type('text/html; charset=utf-8');
const allowed = (p: Promise<unknown>) =>
  p.then(
    () => true,
    () => false,
  );

/**
 * The Links and Albums actions as plain HTML forms, for browsers without JavaScript (docs/spec.md §14, issue 14
 * item 6): each posts to a console route, refused cross-site like `/links/new` (CSRF, sign-in.ts), authorized
 * with the access module like the API route it mirrors, and answers with a redirect to the page that shows the
 * result (POST/redirect/GET); a refused change renders the form again with the reason.
 */
export function consoleFormRoutes(
  fastify: FastifyInstance,
  deps: LinksApiDeps,
  sessions: Sessions,
  owner: (req: FastifyRequest) => Promise<UserRow | null>,
  assets: ConsoleAssets,
  pageHeaders: Record<string, string>,
): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = deps.db;
  const page = { config: { public: true } } as const;
  const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
  const linkContext = (user: UserRow, req: FastifyRequest): LinkContext => ({
    userId: user.id,
    publicUrl: deps.config.PUBLIC_URL,
    policy: linkPolicyFromConfig(deps.config),
    correlationId: String(req.id),
    ...(deps.linkStore ? { store: deps.linkStore } : {}),
  });
  /** The owner's own link, or null (another user's, none, a malformed id): the Links screen then. */
  const ownLink = async (user: UserRow, req: FastifyRequest, id: string) =>
    UUID.test(id) && (await allowed(requireAccess(db, user.id, 'sharedLink.update', id)))
      ? getSharedLink(db, linkContext(user, req), id)
      : null;
  /**
   * Every form post starts here: refused cross-site (the session cookie alone proves nothing), then the signed-in
   * owner, or null (the handler then redirects to the sign-in page).
   */
  const poster = async (req: FastifyRequest, reply: FastifyReply) => {
    assertSameOrigin(req);
    html(reply, pageHeaders);
    return owner(req);
  };
  const expiryText = (expiresAt: string | null) =>
    expiresAt === null ? en.links.neverExpires : new Date(expiresAt).toLocaleString(en.locale, { timeZone: 'UTC' });

  // ── links: edit, delete ───────────────────────────────────────────────────────────────────────────
  app.get('/links/:id/edit', { ...page, schema: { hide: true, params: IdParams } }, async (req, reply) => {
    html(reply, pageHeaders);
    const user = await owner(req);
    if (!user) return reply.redirect('/', 303);
    const link = await ownLink(user, req, req.params.id);
    if (!link) return reply.redirect('/links', 303);
    return editLinkPage(en, assets, user, link, expiryText(link.expiresAt), null);
  });

  app.post(
    '/links/:id/edit',
    {
      ...page,
      schema: {
        hide: true,
        params: IdParams,
        body: Type.Object(LINK_FORM_FIELDS),
      },
    },
    async (req, reply) => {
      const user = await poster(req, reply);
      if (!user) return reply.redirect('/', 303);
      const link = await ownLink(user, req, req.params.id);
      if (!link) return reply.redirect('/links', 303);
      const b = req.body;
      const expires = b.expires ?? 'keep';
      const slug = b.slug?.trim() || null;
      try {
        await updateSharedLink(db, linkContext(user, req), link.id, {
          description: b.description ?? '',
          // the seed's PATCH: "keep" leaves the expiry alone, any other choice replaces it (never: no expiry)
          ...(expires === 'keep'
            ? { changeExpiryTime: false }
            : { changeExpiryTime: true, ...optionalExpiry(expiresAtFor(expires)) }),
          allowDownload: b.allowDownload !== undefined,
          ...(link.type === 'ALBUM' ? { allowUpload: b.allowUpload !== undefined } : {}),
          ...(link.type === 'ALBUM'
            ? { uploadReview: b.uploadReview !== undefined, maxUploadBytes: budgetBytes(b.maxUploadMb) }
            : {}),
          showMetadata: b.showMetadata !== undefined,
          // an empty password field keeps the current one (the form cannot show it)
          ...(b.password ? { password: b.password } : {}),
          ...(slug !== (link.slug ?? null) ? { slug } : {}),
          ...formLimits(b),
        });
        return reply.redirect('/links?notice=linkSaved', 303);
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        return reply
          .status(e.statusCode)
          .send(
            editLinkPage(en, assets, user, link, expiryText(link.expiresAt), `${en.links.saveFailed}: ${e.message}`),
          );
      }
    },
  );

  app.get('/links/:id/delete', { ...page, schema: { hide: true, params: IdParams } }, async (req, reply) => {
    html(reply, pageHeaders);
    const user = await owner(req);
    if (!user) return reply.redirect('/', 303);
    const link = await ownLink(user, req, req.params.id);
    if (!link) return reply.redirect('/links', 303);
    return deleteLinkPage(en, assets, user, link, null);
  });

  app.post('/links/:id/delete', { ...page, schema: { hide: true, params: IdParams } }, async (req, reply) => {
    const user = await poster(req, reply);
    if (!user) return reply.redirect('/', 303);
    const link = await ownLink(user, req, req.params.id);
    if (!link) return reply.redirect('/links', 303);
    try {
      await deleteSharedLink(db, linkContext(user, req), link.id);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      return reply
        .status(e.statusCode)
        .send(deleteLinkPage(en, assets, user, link, `${en.links.deleteFailed}: ${e.message}`));
    }
    return reply.redirect('/links?notice=linkDeleted', 303);
  });

  // ── sign out: the session ends, its cookies go, back to the sign-in form ─────────────────────────────
  app.post('/logout', { ...page, schema: { hide: true } }, async (req, reply) => {
    assertSameOrigin(req);
    const auth = await sessions.authenticate(sessionCookieOf(req));
    if (auth?.session) await sessions.revoke(auth.user.id, auth.session.id);
    clearSessionCookies(req, reply);
    return reply.headers(pageHeaders).redirect('/', 303);
  });

  // ── albums: create, details, members, leave ──────────────────────────────────────────────────────────
  const AlbumFields = Type.Object({
    albumName: Type.String({ maxLength: 1000 }),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
  });
  const who = (user: UserRow, req: FastifyRequest) => ({ userId: user.id, correlationId: req.id });
  /** The album page again with the reason a change was refused (its status: the domain error's). */
  const albumFailed = async (reply: FastifyReply, user: UserRow, albumId: string, e: unknown, prefix: string) => {
    if (!(e instanceof DomainError)) throw e;
    const [album, photos] = await Promise.all([
      getAlbumDto(db, user.id, albumId),
      listAlbumAssets(db, albumId, 1, ALBUM_PAGE_SIZE),
    ]);
    return reply
      .status(e.statusCode)
      .send(albumPage(en, assets, user, album, photos.items, { text: `${prefix}: ${e.message}`, error: true }));
  };
  const member = (user: UserRow, id: string) =>
    UUID.test(id) ? allowed(requireAccess(db, user.id, 'album.read', id)) : Promise.resolve(false);

  app.post('/albums/new', { ...page, schema: { hide: true, body: AlbumFields } }, async (req, reply) => {
    const user = await poster(req, reply);
    if (!user) return reply.redirect('/', 303);
    try {
      const album = await createAlbum(db, who(user, req), {
        albumName: req.body.albumName.trim(),
        description: req.body.description ?? '',
      });
      return reply.redirect(`/albums/${album.id}?notice=albumCreated`, 303);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      const albums = await listAlbumDtos(db, user.id);
      return reply
        .status(e.statusCode)
        .send(albumsPage(en, assets, user, albums, { text: `${en.albums.createFailed}: ${e.message}`, error: true }));
    }
  });

  app.post(
    '/albums/:id/details',
    { ...page, schema: { hide: true, params: IdParams, body: AlbumFields } },
    async (req, reply) => {
      const user = await poster(req, reply);
      if (!user) return reply.redirect('/', 303);
      const id = req.params.id;
      if (!(await member(user, id))) return reply.redirect('/albums', 303);
      try {
        await requireAccess(db, user.id, 'album.update', id);
        await updateAlbum(db, who(user, req), id, {
          albumName: req.body.albumName.trim(),
          description: req.body.description ?? '',
        });
        return reply.redirect(`/albums/${id}?notice=albumSaved`, 303);
      } catch (e) {
        return albumFailed(reply, user, id, e, en.albums.saveFailed);
      }
    },
  );

  app.post(
    '/albums/:id/members',
    {
      ...page,
      schema: {
        hide: true,
        params: IdParams,
        body: Type.Object({
          email: Type.String({ maxLength: 320 }),
          role: Type.Union([Type.Literal('viewer'), Type.Literal('editor')]),
        }),
      },
    },
    async (req, reply) => {
      const user = await poster(req, reply);
      if (!user) return reply.redirect('/', 303);
      const id = req.params.id;
      if (!(await member(user, id))) return reply.redirect('/albums', 303);
      const email = req.body.email.trim();
      try {
        await requireAccess(db, user.id, 'album.manageMembers', id);
        // Immich's way, as the dialog does it: the user named by the email (any case), then the members endpoint
        const found = await db
          .selectFrom('users')
          .select('id')
          .where(sql<string>`lower(email)`, '=', email.toLowerCase())
          .where('deleted_at', 'is', null)
          .executeTakeFirst();
        if (!found) throw notFound(en.albums.noSuchUser);
        await addAlbumMembers(db, who(user, req), id, [{ userId: found.id, role: req.body.role }]);
        return reply.redirect(`/albums/${id}?notice=memberInvited`, 303);
      } catch (e) {
        return albumFailed(reply, user, id, e, en.albums.inviteFailed);
      }
    },
  );

  app.post(
    '/albums/:id/members/:userId',
    {
      ...page,
      schema: {
        hide: true,
        params: Type.Object({ id: Type.String({ maxLength: 64 }), userId: Type.String({ maxLength: 64 }) }),
        body: Type.Object({
          action: Type.Union([Type.Literal('role'), Type.Literal('remove')]),
          role: Type.Optional(Type.Union([Type.Literal('viewer'), Type.Literal('editor')])),
        }),
      },
    },
    async (req, reply) => {
      const user = await poster(req, reply);
      if (!user) return reply.redirect('/', 303);
      const { id, userId } = req.params;
      if (!(await member(user, id))) return reply.redirect('/albums', 303);
      try {
        if (!UUID.test(userId)) throw invalid('Not a user id');
        await requireAccess(db, user.id, 'album.manageMembers', id);
        if (req.body.action === 'role') {
          await updateAlbumMemberRole(db, who(user, req), id, userId, req.body.role ?? 'viewer');
          return reply.redirect(`/albums/${id}?notice=roleChanged`, 303);
        }
        await removeAlbumMember(db, who(user, req), id, userId);
        return reply.redirect(`/albums/${id}?notice=memberRemoved`, 303);
      } catch (e) {
        return albumFailed(reply, user, id, e, en.albums.changeFailed);
      }
    },
  );

  app.post('/albums/:id/leave', { ...page, schema: { hide: true, params: IdParams } }, async (req, reply) => {
    const user = await poster(req, reply);
    if (!user) return reply.redirect('/', 303);
    const id = req.params.id;
    if (!(await member(user, id))) return reply.redirect('/albums', 303);
    try {
      await removeAlbumMember(db, who(user, req), id, 'me');
      return reply.redirect('/albums?notice=albumLeft', 303);
    } catch (e) {
      return albumFailed(reply, user, id, e, en.albums.changeFailed);
    }
  });
}

/** `expiresAt` for the seed's PATCH: absent means "never" when changeExpiryTime is true. */
function optionalExpiry(expiresAt: string | null): { expiresAt?: string } {
  return expiresAt === null ? {} : { expiresAt };
}
