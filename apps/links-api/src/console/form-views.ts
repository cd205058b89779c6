import type { SharedLinkResponseDto } from '@immish/contracts';
import type { UserRow } from '@immish/db';
import { html } from '@immish/runtime';
import type { ConsoleStrings } from './strings.en.ts';
import { type ConsoleAssets, linkFields, shell } from './views.ts';

/**
 * The Links screen's dialogs as pages, for a browser without JavaScript (docs/spec.md §14, issue 14 item 6):
 * Edit posts the same fields to `/links/:id/edit`, Delete asks on its own page before posting.
 */

const titleOf = (t: ConsoleStrings, link: SharedLinkResponseDto) =>
  link.description || (link.album ? link.album.albumName : t.links.untitled);

export function editLinkPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  link: SharedLinkResponseDto,
  currentExpiry: string,
  error: string | null,
): string {
  const c = t.createLink;
  const album = link.type === 'ALBUM';
  return shell(
    t,
    assets,
    user,
    'links',
    html`<form id="edit-link-page" method="post" action="/links/${link.id}/edit" class="card form-page">
  <h2>${c.editTitle}</h2>
  <p class="muted">${titleOf(t, link)}</p>
${linkFields(t, album, {
  description: link.description ?? '',
  allowDownload: link.allowDownload,
  allowUpload: link.allowUpload,
  showMetadata: link.showMetadata,
  slug: link.slug ?? '',
  keepExpiry: t.links.keepExpiry(currentExpiry),
  maxVisits: link.maxVisits,
  maxDownloads: link.maxDownloads,
  maxUploads: link.maxUploads,
  uploadReview: link.uploadReview ?? false,
  maxUploadBytes: link.maxUploadBytes ?? null,
})}
  <p id="cl-error" class="error" role="alert">${error ?? ''}</p>
  <div class="actions">
    <a class="button secondary" href="/links">${t.links.cancel}</a>
    <button type="submit" id="cl-save">${c.save}</button>
  </div>
</form>`,
    '',
    'page-link-form',
  );
}

export function deleteLinkPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  link: SharedLinkResponseDto,
  error: string | null,
): string {
  const k = t.links;
  return shell(
    t,
    assets,
    user,
    'links',
    html`<form id="delete-link-page" method="post" action="/links/${link.id}/delete" class="card form-page" aria-labelledby="delete-title" aria-describedby="delete-text">
  <h2 id="delete-title">${k.deleteTitle}</h2>
  <p id="delete-text">${k.deleteText(titleOf(t, link))}</p>
  <p class="link-url">${link.url}</p>
  <p id="delete-error" class="error" role="alert">${error ?? ''}</p>
  <div class="actions">
    <a class="button secondary" href="/links">${k.cancel}</a>
    <button type="submit" class="danger" id="delete-ok">${k.confirmDelete}</button>
  </div>
</form>`,
    '',
    'page-link-form',
  );
}
