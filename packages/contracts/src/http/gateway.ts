import Type from 'typebox';
import { Uuid } from '../common.ts';

/**
 * Recipient surface (docs/spec.md §5, apps/share-gateway): the shapes that are the gateway's own. The Immich-compatible
 * ones (SharedLinkResponseDto, AssetResponseDto, AssetMediaResponseDto, ExportDto…) live with their areas.
 */

/** How a recipient names a link in the query string (Immich: `?key=` or `?slug=`). */
export const ShareQuery = Type.Object({
  key: Type.Optional(Type.String({ maxLength: 512 })),
  slug: Type.Optional(Type.String({ maxLength: 512 })),
});
export type ShareQuery = Type.Static<typeof ShareQuery>;

/** `/share/:key/...`: the segment is a link key, or a slug (the seed's URL form). */
export const ShareParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 512 }) });
export const ShareAssetParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 512 }), assetId: Uuid });
export const SlugParams = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 512 }) });

/**
 * `POST /api/shared-links/login` body: Immich's SharedLinkLoginDto `{password}`, also posted as an urlencoded
 * form by the share page, which adds `returnTo` (a same-site `/share/...` path to go back to: deep links
 * survive the password prompt).
 */
export const SharedLinkLoginDto = Type.Object(
  {
    password: Type.String({ maxLength: 1024, description: 'Shared link password' }),
    returnTo: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
);
export type SharedLinkLoginDto = Type.Static<typeof SharedLinkLoginDto>;

export const LinkAssetPageQuery = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  size: Type.Integer({ minimum: 1, maximum: 1000, default: 250 }),
  key: Type.Optional(Type.String({ maxLength: 512 })),
  slug: Type.Optional(Type.String({ maxLength: 512 })),
});
export type LinkAssetPageQuery = Type.Static<typeof LinkAssetPageQuery>;

/** `GET /share/:key/assets`: one page of a link's assets (album order for ALBUM links), for large albums. */
export const LinkAssetPage = <T extends Type.TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    total: Type.Integer({ minimum: 0 }),
    page: Type.Integer({ minimum: 1 }),
    size: Type.Integer({ minimum: 1 }),
  });
