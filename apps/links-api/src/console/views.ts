import type { AlbumResponseDto, AssetResponseDto, SharedLinkResponseDto } from '@immish/contracts';
import type { AssetRow, UserRow } from '@immish/db';
import { thumbhashDataUrl } from '@immish/media';
import { html, jsonScript, type SafeHtml } from '@immish/runtime';
import { EXPIRY_CHOICES } from './expiry.ts';
import type { ConsoleStrings } from './strings.en.ts';

/** Where the console's own CSS and JS are served from (content-hashed URLs, bundle.ts). */
export interface ConsoleAssets {
  css: string;
  js: string;
}

/**
 * The document shell: everything from this origin (strict CSP: no inline script or style), colour scheme from
 * the system (`color-scheme` + `prefers-color-scheme` in the CSS), no index by robots.
 */
function layout(t: ConsoleStrings, assets: ConsoleAssets, title: string, pageClass: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="color-scheme" content="light dark">
<title>${title} · ${t.appName}</title>
<link rel="icon" href="/icons/icon-192.png" type="image/png">
<link rel="manifest" href="/manifest.webmanifest">
<link rel="stylesheet" href="${assets.css}">
<script src="${assets.js}" defer></script>
</head>
<body class="${pageClass}">
${body}
</body>
</html>
`.value;
}

export function loginPage(t: ConsoleStrings, assets: ConsoleAssets, error: string | null): string {
  return layout(
    t,
    assets,
    t.signIn.title,
    'page-login',
    html`<main class="login">
<h1>${t.appName}</h1>
<form id="login-form" method="post" action="/login" class="card">
  <h2>${t.signIn.title}</h2>
  <label for="email">${t.signIn.email}</label>
  <input id="email" name="email" type="email" autocomplete="username" required>
  <label for="password">${t.signIn.password}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <p id="login-error" class="error" role="alert">${error ?? ''}</p>
  <button type="submit">${t.signIn.submit}</button>
</form>
</main>`,
  );
}

/** An existing link's values, when the page form edits it instead of creating one. */
export interface LinkFieldValues {
  description: string;
  allowDownload: boolean;
  allowUpload: boolean;
  showMetadata: boolean;
  slug: string;
  /** the "Expires" select's first choice, selected: keep the link's current expiry */
  keepExpiry: string;
  /** limited links (issue 19): null = no limit */
  maxVisits?: number | null;
  maxDownloads?: number | null;
  maxUploads?: number | null;
  /** issue 19: guest-upload moderation */
  uploadReview?: boolean;
  maxUploadBytes?: number | null;
}

/** The three limits of a link form (issue 19): number fields, empty = no limit. */
function limitFields(t: ConsoleStrings, v: LinkFieldValues | null): SafeHtml {
  const c = t.createLink;
  const field = (id: string, name: string, label: string, value: number | null | undefined) =>
    html`<label for="${id}">${label}</label>
  <input id="${id}" name="${name}" type="number" min="1" step="1" inputmode="numeric" aria-describedby="cl-limits-hint" value="${value ?? ''}">`;
  return html`<fieldset class="limits"><legend>${t.links.limits}</legend>
  ${field('cl-max-visits', 'maxVisits', c.maxVisits, v?.maxVisits)}
  ${field('cl-max-downloads', 'maxDownloads', c.maxDownloads, v?.maxDownloads)}
  ${field('cl-max-uploads', 'maxUploads', c.maxUploads, v?.maxUploads)}
  <p id="cl-limits-hint" class="hint">${c.limitsHint}</p>
  </fieldset>
`;
}

/** The byte budget as the form shows it (MB, 1 MB = 1 000 000 bytes) and back. */
export const budgetMb = (bytes: number | null | undefined) => (bytes ? String(bytes / 1_000_000) : '');
export const budgetBytes = (mb: string | undefined): number | null => {
  const n = Number((mb ?? '').trim());
  return (mb ?? '').trim() === '' || !Number.isFinite(n) || n <= 0 ? null : Math.max(1, Math.round(n * 1_000_000));
};

/** The seed's Create Shared Link controls, shared by the dialog and the pages that work without JavaScript. */
export function linkFields(t: ConsoleStrings, album: boolean, v: LinkFieldValues | null = null): SafeHtml {
  const c = t.createLink;
  const on = (b: boolean) => (b ? html` checked` : '');
  return html`  <label for="cl-description">${c.description}</label>
  <input id="cl-description" name="description" type="text" maxlength="1000" value="${v?.description ?? ''}">
  <label for="cl-expires">${c.expires}</label>
  <select id="cl-expires" name="expires">
    ${v ? html`<option value="keep" selected>${v.keepExpiry}</option>` : ''}
    ${EXPIRY_CHOICES.map((k) => html`<option value="${k}">${c.expiry[k]}</option>`)}
  </select>
  <div class="toggle"><input id="cl-allow-download" name="allowDownload" type="checkbox"${on(v?.allowDownload ?? true)}><label for="cl-allow-download">${c.allowDownload}</label></div>
  <div class="toggle"><input id="cl-allow-upload" name="allowUpload" type="checkbox"${album ? on(v?.allowUpload ?? false) : html` disabled aria-describedby="cl-allow-upload-hint"`}><label for="cl-allow-upload">${c.allowUpload}</label></div>
  <p id="cl-allow-upload-hint" class="hint"${album ? html` hidden` : ''}>${c.allowUploadHint}</p>
  <div class="toggle"><input id="cl-upload-review" name="uploadReview" type="checkbox" aria-describedby="cl-upload-review-hint"${album ? on(v?.uploadReview ?? false) : html` disabled`}><label for="cl-upload-review">${c.uploadReview}</label></div>
  <p id="cl-upload-review-hint" class="hint">${c.uploadReviewHint}</p>
  <label for="cl-upload-budget">${c.uploadBudget}</label>
  <input id="cl-upload-budget" name="maxUploadMb" type="number" min="0" step="any" inputmode="decimal" aria-describedby="cl-upload-budget-hint" value="${budgetMb(v?.maxUploadBytes)}"${album ? '' : html` disabled`}>
  <p id="cl-upload-budget-hint" class="hint">${c.uploadBudgetHint}</p>
  <div class="toggle"><input id="cl-show-metadata" name="showMetadata" type="checkbox"${on(v?.showMetadata ?? true)}><label for="cl-show-metadata">${c.showMetadata}</label></div>
  <label for="cl-password">${c.password}</label>
  <input id="cl-password" name="password" type="password" autocomplete="new-password" aria-describedby="cl-password-hint">
  <p id="cl-password-hint" class="hint">${c.passwordHint}</p>
  <label for="cl-slug">${c.customUrl}</label>
  <input id="cl-slug" name="slug" type="text" autocomplete="off" spellcheck="false" maxlength="40" aria-describedby="cl-slug-hint cl-slug-status" value="${v?.slug ?? ''}">
  <p id="cl-slug-hint" class="hint">${c.customUrlHint}</p>
${limitFields(t, v)}`;
}

/** "3 of 10 visits" for each limit a link has (issue 19), marked when used up. */
function limitCounters(t: ConsoleStrings, link: SharedLinkResponseDto): SafeHtml {
  const k = t.links;
  const rows = (
    [
      ['visits', link.maxVisits, link.visitsUsed, k.limitVisits],
      ['downloads', link.maxDownloads, link.downloadsUsed, k.limitDownloads],
      ['uploads', link.maxUploads, link.uploadsUsed, k.limitUploads],
    ] as const
  ).filter(([, max]) => max !== null);
  if (rows.length === 0) return html``;
  return html`<div class="limits"><dt>${k.limits}</dt>${rows.map(
    ([kind, max, used, what]) =>
      html`<dd class="limit limit-${kind}${used >= max! ? ' used-up' : ''}">${k.usedOf(used, max!, what)}${used >= max! ? html` <span class="badge badge-expired">${k.usedUp}</span>` : ''}</dd>`,
  )}</div>`;
}

function createLinkDialog(t: ConsoleStrings): SafeHtml {
  const c = t.createLink;
  return html`<dialog id="create-link" aria-labelledby="create-link-title">
<form id="create-link-form" method="dialog" novalidate>
  <h2 id="create-link-title" data-create="${c.title}" data-edit="${c.editTitle}">${c.title}</h2>
  <p id="create-link-target" class="muted"></p>
${linkFields(t, false)}
  <p id="cl-slug-status" class="hint" aria-live="polite"></p>
  <p id="cl-error" class="error" role="alert"></p>
  <div class="actions">
    <button type="button" id="cl-cancel" class="secondary">${c.cancel}</button>
    <button type="submit" id="cl-create" data-create="${c.create}" data-edit="${c.save}">${c.create}</button>
  </div>
</form>
<section id="cl-result" hidden aria-labelledby="cl-result-title">
  <h2 id="cl-result-title">${c.created}</h2>
  <label for="cl-url">${c.url}</label>
  <input id="cl-url" type="text" readonly>
  <div class="actions">
    <button type="button" id="cl-copy">${c.copy}</button>
    <button type="button" id="cl-share" hidden>${c.share}</button>
  </div>
  <div id="cl-qr" class="qr" role="img" aria-label="${c.qr}"></div>
  <div class="actions"><button type="button" id="cl-done" class="secondary">${c.done}</button></div>
</section>
</dialog>`;
}

type Screen = 'library' | 'albums' | 'links' | 'webhooks';

/** The result of a form posted without JavaScript, shown at the top of the page it led to. */
export interface Notice {
  text: string;
  error: boolean;
}

function noticeBlock(notice: Notice | null | undefined): SafeHtml | string {
  if (!notice) return '';
  return notice.error
    ? html`<p id="notice" class="notice error" role="alert">${notice.text}</p>`
    : html`<p id="notice" class="notice" role="status">${notice.text}</p>`;
}

/** The signed-in frame of every screen: the app bar with the navigation and sign-out, then the screen. */
export function shell(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  screen: Screen,
  main: SafeHtml,
  extra: SafeHtml | string = '',
  pageClass = `page-${screen}`,
  notice: Notice | null = null,
): string {
  const item = (s: Screen, href: string) =>
    html`<a href="${href}"${s === screen ? html` aria-current="page"` : ''}>${t.nav[s]}</a>`;
  return layout(
    t,
    assets,
    t.nav[screen],
    pageClass,
    html`<header class="bar">
  <h1>${t.appName}</h1>
  <nav aria-label="${t.nav.label}" class="screens">${item('library', '/')}${item('albums', '/albums')}${item('links', '/links')}${item('webhooks', '/webhooks')}</nav>
  <div class="account"><span class="muted">${t.nav.signedInAs} ${user.email}</span>
  <form method="post" action="/logout" class="inline"><button type="submit" id="sign-out" class="secondary">${t.nav.signOut}</button></form></div>
</header>
<main>
${noticeBlock(notice)}
${main}
</main>
${extra}`,
  );
}

/** An individual link the owner is adding photos to from the library (the Links screen's "Add photos"). */
export interface AddingTo {
  kind: 'link' | 'album';
  id: string;
  title: string;
}

export function libraryPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  photos: AssetRow[],
  addingTo: AddingTo | null = null,
  paging: { page: number; hasMore: boolean } = { page: 1, hasMore: false },
): string {
  const l = t.library;
  const tiles = photos.map(
    (a, i) => html`<li class="tile status-${a.status}">
  <input type="checkbox" class="pick" name="assetId" id="pick-${a.id}" value="${a.id}" data-index="${i}">
  <label for="pick-${a.id}">
    <span class="visually-hidden">${l.photo(a.original_file_name)}</span>
    ${
      a.status === 'ready'
        ? html`<img src="/api/assets/${a.id}/thumbnail" alt="" loading="lazy" width="250" height="250"${
            thumbhashDataUrl(a.thumbhash) ? html` data-placeholder="true"` : ''
          }>${thumbhashDataUrl(a.thumbhash) ? html`<img class="placeholder" src="${thumbhashDataUrl(a.thumbhash)}" alt="">` : ''}`
        : html`<span class="status" title="${a.error ?? ''}">${l.status[a.status]}${
            a.status === 'failed' && a.error ? html`: ${a.error}` : ''
          }</span>`
    }
  </label>
</li>`,
  );
  return shell(
    t,
    assets,
    user,
    'library',
    html`<form method="get" action="/links/new" id="library-form">
  <div class="toolbar" role="toolbar" aria-label="${l.title}">
    <h2>${l.title}</h2>
    <span id="selection-count" aria-live="polite">${l.selected(0)}</span>
    <button type="button" id="select-all" class="secondary">${l.selectAll}</button>
    <button type="button" id="clear-selection" class="secondary">${l.clearSelection}</button>
    ${
      addingTo
        ? html`<button type="button" id="add-to" data-kind="${addingTo.kind}" data-target-id="${addingTo.id}" disabled>${
            addingTo.kind === 'link' ? l.addToLink : l.addToAlbum
          }</button>
    <a class="button secondary" href="${addingTo.kind === 'link' ? '/links' : `/albums/${addingTo.id}`}">${l.cancelAdding}</a>`
        : html`<button type="submit" id="share-selection">${l.share}</button>`
    }
  </div>
  <p class="hint">${
    addingTo ? (addingTo.kind === 'link' ? l.addingTo(addingTo.title) : l.addingToAlbum(addingTo.title)) : l.shareHint
  }</p>
  ${
    addingTo
      ? ''
      : html`<div class="upload">
    <input id="upload-files" type="file" multiple accept="image/*,video/*" class="visually-hidden" tabindex="-1" aria-hidden="true">
    <button type="button" id="upload-button" class="secondary">${l.upload.button}</button>
    <span class="hint drop-hint">${l.upload.hint}</span>
  </div>
  <section id="uploads" hidden aria-label="${l.upload.listLabel}"><ul id="upload-list" class="upload-list"></ul></section>`
  }
  ${photos.length === 0 ? html`<p class="empty" id="library-empty">${l.empty}</p>` : ''}
  <ul class="grid" id="grid">${tiles}</ul>
  </form>
  ${libraryPager(t, paging, addingTo)}`,
    createLinkDialog(t),
  );
}

function libraryPager(t: ConsoleStrings, paging: { page: number; hasMore: boolean }, addingTo: AddingTo | null) {
  const keep = addingTo ? `${addingTo.kind === 'link' ? 'addTo' : 'addToAlbum'}=${addingTo.id}&` : '';
  return pager(t, t.library.pages, paging, (n) => `/?${keep}page=${n}`);
}

/** Newer / Page N / Older, for any grid of 500 photos a page. */
function pager(
  t: ConsoleStrings,
  label: string,
  paging: { page: number; hasMore: boolean },
  href: (n: number) => string,
) {
  if (paging.page === 1 && !paging.hasMore) return '';
  return html`<nav class="pager" aria-label="${label}">
  ${paging.page > 1 ? html`<a class="button secondary" rel="prev" href="${href(paging.page - 1)}">${t.library.newer}</a>` : ''}
  <span aria-current="page">${t.library.pageN(paging.page)}</span>
  ${paging.hasMore ? html`<a class="button secondary" rel="next" href="${href(paging.page + 1)}">${t.library.older}</a>` : ''}
</nav>`;
}

export function albumsPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  albums: AlbumResponseDto[],
  notice: Notice | null = null,
): string {
  const a = t.albums;
  const rows = albums.map(
    (album) => html`<li class="card album" id="album-${album.id}">
  <h3><a href="/albums/${album.id}">${album.albumName}</a></h3>
  ${album.description ? html`<p>${album.description}</p>` : ''}
  <p class="muted">${a.photoCount(album.assetCount)}${album.ownerId === user.id ? '' : html` · ${a.sharedBy(album.owner.name)}`}${
    album.hasSharedLink ? html` · <a href="/links?albumId=${album.id}">${a.hasLinks}</a>` : ''
  }</p>
  <div class="actions">
    <a class="button share-album" href="/links/new?albumId=${album.id}" role="button" data-album-id="${album.id}" data-album-name="${album.albumName}" aria-label="${a.shareAlbum(album.albumName)}">${a.share}</a>
  </div>
</li>`,
  );
  return shell(
    t,
    assets,
    user,
    'albums',
    html`<h2>${a.title}</h2>
<details class="card new-album">
  <summary>${a.newAlbum}</summary>
  <form id="new-album-form" method="post" action="/albums/new">
    <label for="new-album-name">${a.name}</label>
    <input id="new-album-name" name="albumName" type="text" required maxlength="1000">
    <label for="new-album-description">${a.description}</label>
    <textarea id="new-album-description" name="description" maxlength="10000" rows="2"></textarea>
    <p id="new-album-error" class="error" role="alert"></p>
    <div class="actions"><button type="submit">${a.create}</button></div>
  </form>
</details>
${albums.length === 0 ? html`<p class="empty">${a.empty}</p>` : html`<ul class="list" id="albums">${rows}</ul>`}`,
    createLinkDialog(t),
    'page-albums',
    notice,
  );
}

/** "in 3 days", "2 hours ago": the largest unit that fits, in the strings' language. */
function relative(t: ConsoleStrings, to: Date, now: Date): string {
  const seconds = (to.getTime() - now.getTime()) / 1000;
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['year', 365 * 86400],
    ['month', 30 * 86400],
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  const fmt = new Intl.RelativeTimeFormat(t.locale, { numeric: 'auto' });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return fmt.format(Math.round(seconds / size), unit);
  }
  return fmt.format(Math.round(seconds / 60), 'minute');
}

const LOCK_ICON = html`<svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5Zm-3 8V7a3 3 0 1 1 6 0v3H9Z"/></svg>`;

export function linksPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  links: SharedLinkResponseDto[],
  albums: AlbumResponseDto[],
  albumId: string | null,
  now: Date,
  notice: Notice | null = null,
): string {
  const k = t.links;
  const flag = (on: boolean, name: string) => html`<li class="${on ? 'on' : 'off'}">${name}: ${on ? k.on : k.off}</li>`;
  const rows = links.map((link) => {
    const expired = link.expiresAt !== null && new Date(link.expiresAt).getTime() <= now.getTime();
    const title = link.description || (link.album ? link.album.albumName : k.untitled);
    return html`<li class="card link${expired ? ' expired' : ''}" id="link-${link.id}" data-link-id="${link.id}">
  <div class="link-head">
    <h3>${title}</h3>
    <span class="badge">${link.type === 'ALBUM' ? k.typeAlbum : k.typeIndividual}</span>
    ${expired ? html`<span class="badge badge-expired">${k.expired}</span>` : ''}
    ${link.hasPassword ? html`<span class="lock" title="${k.passwordProtected}">${LOCK_ICON}<span class="visually-hidden">${k.passwordProtected}</span></span>` : ''}
  </div>
  <p class="muted">${link.album ? k.album(link.album.albumName) : k.photoCount(link.assets.length)} · ${
    link.expiresAt === null
      ? k.neverExpires
      : expired
        ? k.expiredAgo(relative(t, new Date(link.expiresAt), now))
        : k.expiresIn(relative(t, new Date(link.expiresAt), now))
  }</p>
  <p class="link-url"><a href="${link.url}" target="_blank" rel="noopener noreferrer" class="open-link">${link.url}</a></p>
  <ul class="flags" aria-label="${k.flags}">
    ${flag(link.allowDownload, t.createLink.allowDownload)}
    ${link.type === 'ALBUM' ? flag(link.allowUpload, t.createLink.allowUpload) : ''}
    ${flag(link.showMetadata, t.createLink.showMetadata)}
  </ul>
  <dl class="counters">
    <div><dt>${k.views}</dt><dd class="views">${link.views}</dd></div>
    <div><dt>${k.downloads}</dt><dd class="downloads">${link.downloads}</dd></div>
    <div><dt>${k.uploads}</dt><dd class="uploads">${link.uploads}</dd></div>
    <div><dt>${k.lastAccess}</dt><dd class="last-access">${
      link.lastAccessedAt ? relative(t, new Date(link.lastAccessedAt), now) : k.never
    }</dd></div>
    ${limitCounters(t, link)}
  </dl>
  <div class="actions link-actions">
    <button type="button" class="secondary" data-action="copy" aria-label="${k.copyOf(title)}">${k.copy}</button>
    <button type="button" class="secondary" data-action="qr" aria-label="${k.qrOf(title)}">${k.qr}</button>
    <a class="button secondary" role="button" href="/links/${link.id}/edit" data-action="edit" aria-label="${k.editOf(title)}">${k.edit}</a>
    <a class="button secondary" href="/links/${link.id}/activity" data-nav="activity" aria-label="${t.activity.openOf(title)}">${t.activity.open}</a>
    ${link.uploadReview ? html`<a class="button secondary" href="/links/${link.id}/uploads" data-review aria-label="${t.review.openOf(title)}">${t.review.open}</a>` : ''}
    ${link.type === 'INDIVIDUAL' ? html`<button type="button" class="secondary" data-action="photos" aria-label="${k.photosOf(title)}">${k.photos}</button>` : ''}
    <a class="button danger" role="button" href="/links/${link.id}/delete" data-action="delete" aria-label="${k.deleteOf(title)}">${k.delete}</a>
  </div>
</li>`;
  });
  return shell(
    t,
    assets,
    user,
    'links',
    html`<div class="toolbar"><h2>${k.title}</h2></div>
<form method="get" action="/links" class="filter" id="links-filter">
  <label for="album-filter">${k.filterByAlbum}</label>
  <select id="album-filter" name="albumId">
    <option value="">${k.allLinks}</option>
    ${albums.map((a) => html`<option value="${a.id}"${a.id === albumId ? html` selected` : ''}>${a.albumName}</option>`)}
  </select>
  <button type="submit" class="secondary" id="apply-filter">${k.applyFilter}</button>
</form>
${links.length === 0 ? html`<p class="empty">${k.empty}</p>` : html`<ul class="list" id="links">${rows}</ul>`}`,
    html`${jsonScript('links-data', links)}
${createLinkDialog(t)}
<dialog id="qr-dialog" aria-labelledby="qr-title">
  <h2 id="qr-title">${k.qrTitle}</h2>
  <p id="qr-url" class="link-url"></p>
  <div id="qr-code" class="qr" role="img" aria-label="${t.createLink.qr}"></div>
  <div class="actions"><button type="button" id="qr-close" class="secondary">${k.close}</button></div>
</dialog>
<dialog id="confirm-delete" aria-labelledby="confirm-delete-title" aria-describedby="confirm-delete-text">
  <h2 id="confirm-delete-title">${k.deleteTitle}</h2>
  <p id="confirm-delete-text"></p>
  <p id="confirm-delete-error" class="error" role="alert"></p>
  <div class="actions">
    <button type="button" id="confirm-delete-cancel" class="secondary">${k.cancel}</button>
    <button type="button" id="confirm-delete-ok" class="danger">${k.confirmDelete}</button>
  </div>
</dialog>
<dialog id="link-photos" aria-labelledby="link-photos-title">
  <h2 id="link-photos-title">${k.photosTitle}</h2>
  <p class="hint">${k.photosHint}</p>
  <ul id="link-photos-grid" class="grid small"></ul>
  <p id="link-photos-error" class="error" role="alert"></p>
  <div class="actions">
    <a id="link-photos-add" class="button secondary" href="/">${k.addPhotos}</a>
    <button type="button" id="link-photos-close" class="secondary">${k.close}</button>
  </div>
</dialog>`,
    'page-links',
    notice,
  );
}

/** One album: details (owner), photos (owner and editors add and remove), members and roles (owner), leave. */
export function albumPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  album: AlbumResponseDto,
  photos: AssetResponseDto[],
  notice: Notice | null = null,
  paging: { page: number; hasMore: boolean } = { page: 1, hasMore: false },
): string {
  const a = t.albums;
  const role = album.albumUsers.find((m) => m.user.id === user.id)?.role ?? 'viewer';
  const isOwner = role === 'owner';
  const canEdit = isOwner || role === 'editor';
  const tiles = photos.map((p) => {
    const placeholder = p.thumbhash ? thumbhashDataUrl(Buffer.from(p.thumbhash, 'base64')) : null;
    return html`<li class="tile" data-asset-id="${p.id}">
  ${placeholder ? html`<img class="placeholder" src="${placeholder}" alt="">` : ''}
  <img src="/api/assets/${p.id}/thumbnail" alt="${p.originalFileName}" loading="lazy" width="250" height="250">
  ${canEdit ? html`<button type="button" class="remove-photo" aria-label="${a.removePhoto(p.originalFileName)}">${a.removeSymbol}</button>` : ''}
</li>`;
  });
  const members = album.albumUsers.map((m) => {
    const self = m.user.id === user.id;
    const who = `${m.user.name} <${m.user.email}>`;
    // without JavaScript each row is a form: "Change role" (shown only then) or "Remove" posts it
    return html`<li class="member" data-user-id="${m.user.id}">
  <span class="member-name">${m.user.name} <span class="muted">${m.user.email}</span>${self ? html` <span class="muted">${a.you}</span>` : ''}</span>
  ${
    isOwner && m.role !== 'owner'
      ? html`<form method="post" action="/albums/${album.id}/members/${m.user.id}" class="member-form">
  <label class="visually-hidden" for="role-${m.user.id}">${a.roleOf(who)}</label>
  <select id="role-${m.user.id}" class="member-role" name="role">
    <option value="viewer"${m.role === 'viewer' ? html` selected` : ''}>${a.role.viewer}</option>
    <option value="editor"${m.role === 'editor' ? html` selected` : ''}>${a.role.editor}</option>
  </select>
  <noscript><button type="submit" class="secondary" name="action" value="role" aria-label="${a.changeRoleOf(who)}">${a.changeRole}</button></noscript>
  <button type="submit" class="secondary remove-member" name="action" value="remove" aria-label="${a.removeMember(who)}">${a.remove}</button>
</form>`
      : html`<span class="badge">${a.role[m.role]}</span>`
  }
</li>`;
  });
  return shell(
    t,
    assets,
    user,
    'albums',
    html`<p><a href="/albums">${a.back}</a></p>
<div class="toolbar" data-album-id="${album.id}" id="album-toolbar">
  <h2>${album.albumName}</h2>
  ${isOwner ? html`<a class="button share-album" href="/links/new?albumId=${album.id}" role="button" data-album-id="${album.id}" data-album-name="${album.albumName}" aria-label="${a.shareAlbum(album.albumName)}">${a.share}</a>` : ''}
  ${isOwner ? '' : html`<form method="post" action="/albums/${album.id}/leave" class="inline"><button type="submit" class="secondary" id="leave-album">${a.leave}</button></form>`}
</div>
${album.description ? html`<p id="album-description">${album.description}</p>` : ''}
${
  isOwner
    ? html`<details class="card">
  <summary>${a.details}</summary>
  <form id="album-details" method="post" action="/albums/${album.id}/details">
    <label for="album-name">${a.name}</label>
    <input id="album-name" name="albumName" type="text" required maxlength="1000" value="${album.albumName}">
    <label for="album-description-input">${a.description}</label>
    <textarea id="album-description-input" name="description" maxlength="10000" rows="3">${album.description}</textarea>
    <p id="album-details-status" class="hint" role="status"></p>
    <div class="actions"><button type="submit">${a.save}</button></div>
  </form>
</details>`
    : ''
}
<section aria-labelledby="album-photos-title">
  <div class="toolbar"><h3 id="album-photos-title">${a.photos} (${album.assetCount})</h3>
  ${canEdit ? html`<a class="button secondary" href="/?addToAlbum=${album.id}">${a.addPhotos}</a>` : ''}</div>
  ${photos.length === 0 ? html`<p class="empty">${a.noPhotos}</p>` : html`<ul class="grid" id="album-grid">${tiles}</ul>`}
  ${albumPager(t, album.id, paging)}
  <p id="album-photos-error" class="error" role="alert"></p>
</section>
<section aria-labelledby="members-title">
  <h3 id="members-title">${a.members}</h3>
  <ul class="members" id="members">${members}</ul>
  <p id="members-error" class="error" role="alert"></p>
  ${
    isOwner
      ? html`<form id="invite-form" class="invite" method="post" action="/albums/${album.id}/members">
    <div><label for="invite-email">${a.inviteEmail}</label>
    <input id="invite-email" name="email" type="email" required autocomplete="off"></div>
    <div><label for="invite-role">${a.inviteRole}</label>
    <select id="invite-role" name="role"><option value="viewer">${a.role.viewer}</option><option value="editor">${a.role.editor}</option></select></div>
    <button type="submit">${a.invite}</button>
  </form>`
      : ''
  }
</section>`,
    isOwner ? createLinkDialog(t) : '',
    'page-albums',
    notice,
  );
}

/** An album's photos past the first page (`/albums/:id?page=2`), like the library's pager. */
function albumPager(t: ConsoleStrings, albumId: string, paging: { page: number; hasMore: boolean }) {
  return pager(t, t.albums.pages, paging, (n) => `/albums/${albumId}?page=${n}`);
}

/** What the page form creates a link for: photos of the library, or an album. */
export type LinkPageTarget = { assetIds: string[] } | { albumId: string; albumName: string };

/**
 * Create Shared Link without JavaScript: the same controls in a form posted to `/links/new` (cookie session,
 * same-origin check), then the URL and its QR code drawn on the server.
 */
export function createLinkPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  target: LinkPageTarget,
  error: string | null,
): string {
  const c = t.createLink;
  const album = 'albumId' in target;
  return shell(
    t,
    assets,
    user,
    album ? 'albums' : 'library',
    html`<form id="create-link-page" method="post" action="/links/new" class="card form-page">
  <h2>${c.title}</h2>
  <p class="muted">${album ? c.forAlbum(target.albumName) : c.forSelection(target.assetIds.length)}</p>
  ${album ? html`<input type="hidden" name="albumId" value="${target.albumId}">` : target.assetIds.map((id) => html`<input type="hidden" name="assetId" value="${id}">`)}
  ${linkFields(t, album)}
  <p id="cl-error" class="error" role="alert">${error ?? ''}</p>
  <div class="actions"><button type="submit" id="cl-create">${c.create}</button></div>
</form>`,
    '',
    'page-link-form',
  );
}

/** The created link without JavaScript: its URL and a QR code drawn on the server (the same encoder). */
export function linkCreatedPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  url: string,
  qr: SafeHtml,
): string {
  const c = t.createLink;
  return shell(
    t,
    assets,
    user,
    'links',
    html`<section class="card form-page" aria-labelledby="cl-result-title">
  <h2 id="cl-result-title">${c.created}</h2>
  <label for="cl-url">${c.url}</label>
  <input id="cl-url" type="text" readonly value="${url}">
  <div class="qr" role="img" aria-label="${c.qr}">${qr}</div>
  <div class="actions"><a class="button secondary" href="/links">${t.nav.links}</a></div>
</section>`,
    '',
    'page-link-created',
  );
}
