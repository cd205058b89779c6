import { html, jsonScript, type SafeHtml } from './html.ts';
import { CLIENT_STRING_KEYS } from './i18n/client-keys.ts';
import type { Translator } from './i18n/index.ts';
import { layout, type OpenGraph, type StaticUrls } from './layout.ts';
import type { ViewItem } from './model.ts';
import { thumbhashDataUrl } from './placeholder.ts';

/**
 * The share page's views (docs/spec.md §5.4): pure functions from a view model to an HTML string. Every interpolation
 * is escaped by `html`; nothing here reads the database or the request.
 */

export interface LinkPageBase {
  assets: StaticUrls;
  /** `/share/<slug or key>` (URL-encoded segment): the prefix of every link URL on the page */
  base: string;
  title: string;
  description: string | null;
  total: number;
  allowDownload: boolean;
  allowUpload: boolean;
  /** issue 19: uploads wait for the owner's review (the uploader is told so) */
  uploadReview?: boolean;
  showMetadata: boolean;
  /** the page's language (Accept-Language) */
  tr: Translator;
}

export interface AlbumPageModel extends LinkPageBase {
  page: number;
  pageCount: number;
  pageSize: number;
  /** an album's order: the one shown, and the recipient's choice (null: the album's own) */
  order: { current: 'asc' | 'desc'; chosen: 'asc' | 'desc' | null } | null;
  /** grouping by day or month (null: none); offered only when the link shows dates (metadata) */
  group: GroupBy | null;
  /** position of items[0] in the whole link (0-based) */
  firstIndex: number;
  items: ViewItem[];
  /** the asset just before this page and just after it (viewer navigation across pages) */
  before: string | null;
  after: string | null;
  og: OpenGraph;
}

/** A grid page without its preview card: what the page's data and page links are made of. */
type GridData = Omit<AlbumPageModel, 'og'>;

export interface PhotoPageModel extends LinkPageBase {
  item: ViewItem;
  index: number;
  prev: string | null;
  next: string | null;
  /** grid page that holds the photo */
  gridPage: number;
  /** the recipient's order and grouping, carried on to previous/next and back to the grid */
  view: ViewChoice;
  og: OpenGraph;
}

export const countLabel = (tr: Translator, n: number): string => tr.plural('count', n);
/** og:description (docs/spec.md §5.4: "N shared photos & videos") */
export const ogDescription = (tr: Translator, n: number): string => tr.plural('ogDescription', n);

/** How the recipient looks at the link (query parameters every page link carries on): order and grouping. */
export interface ViewChoice {
  order: 'asc' | 'desc' | null;
  group: GroupBy | null;
}
export type GroupBy = 'day' | 'month';
const NO_CHOICE: ViewChoice = { order: null, group: null };

const viewQuery = (v: ViewChoice) => [v.order ? `order=${v.order}` : '', v.group ? `group=${v.group}` : ''];
const gridUrl = (base: string, page: number, v: ViewChoice = NO_CHOICE) => {
  const query = [page > 1 ? `page=${page}` : '', ...viewQuery(v)].filter(Boolean).join('&');
  return query ? `${base}?${query}` : base;
};
/** a photo page; with the recipient's order its previous/next follow that order (issue 21 §5) */
export const photoUrl = (base: string, assetId: string, v: ViewChoice = NO_CHOICE) => {
  const query = viewQuery(v).filter(Boolean).join('&');
  return `${base}/photos/${assetId}${query ? `?${query}` : ''}`;
};
const mediaUrl = (base: string, assetId: string, kind: 'thumbnail' | 'preview' | 'original' | 'video') =>
  `${base}/assets/${assetId}/${kind}`;
/** "Photo 3 of 120" */
const itemLabel = (tr: Translator, item: ViewItem, i: number, n: number) =>
  tr.t(item.type === 'VIDEO' ? 'videoOf' : item.type === 'IMAGE' ? 'photoOf' : 'fileOf', { i, n });

function header(m: LinkPageBase, opts: { withActions: boolean }): SafeHtml {
  return html`<header class="share-header">
<div class="share-titles">
<h1>${m.title}</h1>
${m.description ? html`<p class="share-description">${m.description}</p>` : ''}
<p class="share-count">${countLabel(m.tr, m.total)}</p>
</div>
${opts.withActions ? actions(m) : ''}
</header>`;
}

const choiceOf = (m: Pick<AlbumPageModel, 'order' | 'group'>): ViewChoice => ({
  order: m.order?.chosen ?? null,
  group: m.group,
});

/** Newest / oldest first (album links, more than one asset): plain links, so it works without JavaScript. */
function orderToggle(m: AlbumPageModel): SafeHtml | string {
  if (!m.order || m.total < 2) return '';
  const { current } = m.order;
  const option = (order: 'asc' | 'desc', label: string) =>
    html`<a class="button" href="${gridUrl(m.base, 1, { order, group: m.group })}"${current === order ? html` aria-current="true"` : ''}>${label}</a>`;
  return html`<nav class="order-toggle" aria-label="${m.tr.t('order')}">
${option('desc', m.tr.t('newestFirst'))}
${option('asc', m.tr.t('oldestFirst'))}
</nav>`;
}

/** The group an item falls in: its day or its month (null when not grouping or the date is hidden). */
export const groupKey = (item: { day: string | null }, by: GroupBy | null): string | null =>
  by && item.day ? (by === 'month' ? item.day.slice(0, 7) : item.day) : null;

/**
 * None / by day / by month (issue 21 §5): plain links (`?group=`), so it works without JavaScript. Dates are
 * metadata: a link that hides metadata offers no grouping.
 */
function groupToggle(m: AlbumPageModel): SafeHtml | string {
  if (!m.showMetadata || m.total < 2) return '';
  const option = (group: GroupBy | null, label: string) =>
    html`<a class="button" href="${gridUrl(m.base, 1, { order: m.order?.chosen ?? null, group })}"${m.group === group ? html` aria-current="true"` : ''}>${label}</a>`;
  return html`<nav class="group-toggle" aria-label="${m.tr.t('group')}">
${option(null, m.tr.t('groupNone'))}
${option('day', m.tr.t('groupDay'))}
${option('month', m.tr.t('groupMonth'))}
</nav>`;
}

/** The tiles, a heading (in the page's language, through Intl) before each new day or month when grouping. */
function tiles(m: AlbumPageModel): SafeHtml[] {
  const out: SafeHtml[] = [];
  let last: string | null = null;
  m.items.forEach((item, i) => {
    const key = groupKey(item, m.group);
    if (key && key !== last) out.push(html`<li class="group-heading"><h2>${m.tr.groupHeading(key)}</h2></li>`);
    last = key;
    out.push(tile(m, item, m.firstIndex + i));
  });
  return out;
}

/** A slideshow needs something to show: a photo or a video that plays. */
const hasSlides = (m: AlbumPageModel) => m.items.some((i) => i.type === 'IMAGE' || i.playable);

/** "Slideshow" (shown by the bundle). */
function slideshowButton(m: AlbumPageModel): SafeHtml | string {
  if (!hasSlides(m)) return '';
  return html`<button type="button" class="button slideshow-start" id="slideshow-start" hidden>${m.tr.t('slideshow')}</button>`;
}

function actions(m: LinkPageBase): SafeHtml | string {
  if (!m.allowDownload && !m.allowUpload) return '';
  return html`<div class="share-actions">
${
  m.allowDownload && m.total > 0
    ? html`<div class="download" id="download">
<button type="button" class="button button-primary" id="download-all" data-export-url="${m.base}/exports" hidden>${m.tr.t('downloadAll')}</button>
<button type="button" class="button" id="select-start" aria-controls="selection-bar" hidden>${m.tr.t('select')}</button>
<noscript><p class="hint">${m.tr.t('noscriptDownload')}</p></noscript>
<div class="download-status" id="download-status" role="status" aria-live="polite" hidden>
<label for="download-progress" id="download-label">${m.tr.t('preparing')}</label>
<progress id="download-progress" max="1"></progress>
<ul class="download-parts" id="download-parts"></ul>
</div>
</div>`
    : ''
}
${
  m.allowUpload
    ? html`<form class="upload" id="upload" method="post" action="${m.base}/uploads" enctype="multipart/form-data"${m.uploadReview ? html` data-review="1"` : ''}>
<label for="upload-files" class="button">${m.tr.t('addPhotos')}</label>
<input id="upload-files" class="file-input" name="files" type="file" multiple accept="image/*,video/*">
<noscript><button type="submit" class="button">${m.tr.t('upload')}</button></noscript>
<p class="hint js-only drop-hint">${m.tr.t('dropHint')}</p>
${m.uploadReview ? html`<p class="hint upload-review" id="upload-review" role="status">${m.tr.t('uploadReviewNote')}</p>` : ''}
<ul class="upload-list" id="upload-list" aria-live="polite"></ul>
</form>`
    : ''
}
</div>`;
}

/**
 * The selection bar (issue 21 §2): filled and shown by the bundle once something is selected (a tile's checkbox,
 * a long press on touch, or "Select"); without JavaScript there is nothing to select, so it stays hidden. Selecting
 * is for downloading, so a link without downloads has none.
 */
function selectionBar(m: AlbumPageModel): SafeHtml | string {
  if (m.total === 0 || !m.allowDownload) return '';
  return html`<div class="selection-bar" id="selection-bar" role="region" aria-label="${m.tr.t('selection')}" hidden>
<span class="selection-count" id="selection-count" aria-live="polite">${m.tr.plural('selected', 0)}</span>
<button type="button" class="button" id="select-all">${m.tr.t('selectAll')}</button>
<button type="button" class="button" id="select-none">${m.tr.t('clear')}</button>
<button type="button" class="button button-primary" id="download-selected">${m.tr.t('downloadSelected')}</button>
<button type="button" class="button" id="share-selected" aria-controls="share-sheet" hidden>${m.tr.t('share')}</button>
</div>
${shareSheet(m)}`;
}

/**
 * "Share…" of a selection (issues 15 and 21): the bundle hands the files to the system share sheet where the browser
 * can share files; otherwise, or when it cannot, this panel offers download, the page's link and email. A recipient
 * cannot make links, so "copy" copies this page's address.
 */
function shareSheet(m: AlbumPageModel): SafeHtml {
  return html`<div class="share-sheet" id="share-sheet" role="dialog" aria-modal="false" aria-labelledby="share-sheet-title" hidden>
<h2 class="share-sheet-title" id="share-sheet-title">${m.tr.t('shareTitle')}</h2>
<p class="share-sheet-status" id="share-sheet-status" role="status" aria-live="polite"></p>
<progress class="share-sheet-progress" id="share-sheet-progress" max="1" aria-labelledby="share-sheet-status" hidden></progress>
<div class="share-sheet-options" id="share-sheet-options" hidden>
<button type="button" class="button button-primary" id="share-download">${m.tr.t('shareDownload')}</button>
<button type="button" class="button" id="share-copy">${m.tr.t('copyPageLink')}</button>
<a class="button" id="share-email" href="mailto:">${m.tr.t('email')}</a>
</div>
<button type="button" class="button share-sheet-close" id="share-close">${m.tr.t('close')}</button>
</div>`;
}

function tile(m: AlbumPageModel, item: ViewItem, index: number): SafeHtml {
  const placeholder = thumbhashDataUrl(item.thumbhash);
  const label = itemLabel(m.tr, item, index + 1, m.total);
  return html`<li class="tile" id="a-${item.id}">
<a href="${photoUrl(m.base, item.id, choiceOf(m))}" data-index="${index - m.firstIndex}">
${placeholder ? html`<img class="tile-placeholder" src="${placeholder}" alt="" aria-hidden="true">` : ''}
${
  item.hasThumbnail
    ? html`<img class="tile-thumb" src="${mediaUrl(m.base, item.id, 'thumbnail')}" alt="${label}" loading="lazy" decoding="async" width="250" height="250">`
    : html`<span class="tile-missing">${label}</span>`
}
${item.duration ? html`<span class="tile-badge">▶ ${item.duration}</span>` : ''}
</a>
</li>`;
}

function pagination(m: GridData): SafeHtml | string {
  if (m.pageCount <= 1) return '';
  const window = 2;
  const pages: (number | null)[] = [];
  for (let p = 1; p <= m.pageCount; p++) {
    if (p === 1 || p === m.pageCount || Math.abs(p - m.page) <= window) pages.push(p);
    else if (pages[pages.length - 1] !== null) pages.push(null);
  }
  return html`<nav class="pagination" id="pagination" aria-label="${m.tr.t('pages')}">
${m.page > 1 ? html`<a class="button" rel="prev" href="${gridUrl(m.base, m.page - 1, choiceOf(m))}">${m.tr.t('previousPage')}</a>` : ''}
<ol>
${pages.map((p) =>
  p === null
    ? html`<li class="gap" aria-hidden="true">…</li>`
    : p === m.page
      ? html`<li><span aria-current="page">${p}</span></li>`
      : html`<li><a href="${gridUrl(m.base, p, choiceOf(m))}" aria-label="${m.tr.t('pageN', { n: p })}">${p}</a></li>`,
)}
</ol>
${m.page < m.pageCount ? html`<a class="button" rel="next" href="${gridUrl(m.base, m.page + 1, choiceOf(m))}">${m.tr.t('nextPage')}</a>` : ''}
</nav>`;
}

function metaPanel(tr: Translator, item: ViewItem | null, hidden: boolean): SafeHtml {
  const meta = item?.meta;
  return html`<aside class="viewer-meta" id="viewer-meta" aria-label="${tr.t('photoDetails')}"${hidden ? html` hidden` : ''}>
<h2 class="viewer-meta-title" id="viewer-meta-title">${meta?.fileName ?? ''}</h2>
<dl id="viewer-meta-fields">
${(meta?.fields ?? []).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}
</dl>
</aside>`;
}

function stage(m: LinkPageBase, item: ViewItem | null, label: string): SafeHtml {
  if (item?.playable) {
    // watching is not downloading: without the download permission the player offers no "Download" of its own
    return html`<video class="viewer-media" id="viewer-media" controls${m.allowDownload ? '' : html` controlslist="nodownload"`} playsinline preload="metadata" poster="${mediaUrl(m.base, item.id, 'preview')}" src="${mediaUrl(m.base, item.id, 'video')}" aria-label="${label}"></video>`;
  }
  if (item?.livePhoto) {
    // the still; the bundle plays its motion over it on press/hover (without JavaScript it is a photo)
    return html`<img class="viewer-media" id="viewer-media" src="${mediaUrl(m.base, item.id, 'preview')}" alt="${label} (${m.tr.t('livePhoto')})" data-live="${mediaUrl(m.base, item.id, 'video')}"${item.width && item.height ? html` width="${item.width}" height="${item.height}"` : ''}>`;
  }
  return html`<img class="viewer-media" id="viewer-media" src="${item ? mediaUrl(m.base, item.id, 'preview') : ''}"${item?.zoomOriginal ? html` data-zoom="${mediaUrl(m.base, item.id, 'original')}"` : ''} alt="${label}"${item?.width && item.height ? html` width="${item.width}" height="${item.height}"` : ''}>`;
}

/**
 * The slideshow's controls in the viewer bar of the grid page (issue 21 §3): the bundle shows them; a photo page
 * (no JavaScript needed) has none.
 */
function slideshowControls(tr: Translator): SafeHtml {
  return html`<span class="slideshow-controls" id="slideshow-controls" hidden>
<button type="button" class="button" id="slideshow-toggle" aria-pressed="false">${tr.t('play')}</button>
<label class="visually-hidden" for="slideshow-interval">${tr.t('secondsPerPhoto')}</label>
<select class="slideshow-interval" id="slideshow-interval">
${[3, 5, 10].map((s) => html`<option value="${s}"${s === 5 ? html` selected` : ''}>${tr.t('seconds', { n: s })}</option>`)}
</select>
<button type="button" class="button" id="viewer-fullscreen" aria-pressed="false">${tr.t('fullScreen')}</button>
</span>`;
}

/**
 * The viewer. Server-rendered open on a photo page (works without JavaScript: prev/next/close are links);
 * on the grid page it is rendered empty and hidden, and the bundle fills it for the photo clicked.
 */
function viewer(
  m: LinkPageBase,
  v: {
    item: ViewItem;
    index: number;
    prev: string | null;
    next: string | null;
    close: string;
    view: ViewChoice;
  } | null,
  slides = false,
): SafeHtml {
  const item = v?.item ?? null;
  const label = item && v ? itemLabel(m.tr, item, v.index + 1, m.total) : '';
  const download = item?.download ?? (m.allowDownload ? 'original' : null);
  return html`<div class="viewer" id="viewer" role="dialog" aria-modal="${v ? 'false' : 'true'}" aria-label="${m.tr.t('viewer')}"${v ? '' : html` hidden`}>
<div class="viewer-bar">
<a class="viewer-close button" id="viewer-close" href="${v?.close ?? m.base}" aria-label="${m.tr.t('closeViewer')}">✕ <span class="label">${m.tr.t('allPhotos')}</span></a>
<span class="viewer-position" id="viewer-position" aria-live="polite">${v ? `${v.index + 1} / ${m.total}` : ''}</span>
${
  download
    ? html`<a class="viewer-download button" id="viewer-download" href="${item?.download ? mediaUrl(m.base, item.id, item.download) : ''}" download${item?.download ? '' : html` hidden`}>${item?.download === 'preview' ? m.tr.t('downloadPreview') : m.tr.t('download')}</a>`
    : ''
}
${slides ? slideshowControls(m.tr) : ''}
${m.showMetadata ? html`<button type="button" class="viewer-info button js-only" id="viewer-info" aria-controls="viewer-meta" aria-expanded="true">${m.tr.t('info')}</button>` : ''}
</div>
<div class="viewer-body">
<figure class="viewer-stage">
${stage(m, item, label)}
<a class="viewer-nav viewer-prev" id="viewer-prev" rel="prev" href="${v?.prev ? photoUrl(m.base, v.prev, v.view) : ''}" aria-label="${m.tr.t('previousPhoto')}"${v?.prev ? '' : html` hidden`}>‹</a>
<a class="viewer-nav viewer-next" id="viewer-next" rel="next" href="${v?.next ? photoUrl(m.base, v.next, v.view) : ''}" aria-label="${m.tr.t('nextPhoto')}"${v?.next ? '' : html` hidden`}>›</a>
</figure>
${m.showMetadata ? metaPanel(m.tr, item, false) : ''}
</div>
</div>`;
}

/** What the bundle needs on the grid page; metadata only when the link shows it (toViewItem decides). */
function pageData(m: GridData) {
  return {
    base: m.base,
    total: m.total,
    page: m.page,
    pageCount: m.pageCount,
    pageSize: m.pageSize,
    order: m.order?.chosen ?? null,
    group: m.group,
    // the headings of this page's groups, formatted here like the server's (one Intl, the page's language)
    groupLabels: Object.fromEntries(
      m.items.flatMap((i) => {
        const key = groupKey(i, m.group);
        return key ? [[key, m.tr.groupHeading(key)]] : [];
      }),
    ),
    firstIndex: m.firstIndex,
    before: m.before,
    after: m.after,
    allowDownload: m.allowDownload,
    allowUpload: m.allowUpload,
    showMetadata: m.showMetadata,
    locale: m.tr.locale,
    // the templates of what the bundle writes itself (client/browser/i18n.ts)
    strings: Object.fromEntries(CLIENT_STRING_KEYS.map((k) => [k, m.tr.t(k)])),
    items: m.items.map((i) => ({
      id: i.id,
      type: i.type,
      width: i.width,
      height: i.height,
      download: i.download,
      playable: i.playable,
      livePhoto: i.livePhoto,
      zoomOriginal: i.zoomOriginal,
      duration: i.duration,
      hasThumbnail: i.hasThumbnail,
      // the tile the bundle lays out itself (justified rows, only the nearby ones in the DOM)
      placeholder: thumbhashDataUrl(i.thumbhash),
      meta: i.meta,
      day: i.day,
    })),
  };
}

export function albumPage(m: AlbumPageModel): string {
  const body = html`<a class="skip-link" href="#grid">${m.tr.t('skipToPhotos')}</a>
${header(m, { withActions: true })}
<main class="share-main" id="main">
<div class="grid-tools">
${slideshowButton(m)}
${orderToggle(m)}
${groupToggle(m)}
</div>
${
  m.items.length === 0
    ? html`<p class="empty">${m.total === 0 ? m.tr.t('noPhotos') : m.tr.t('noPhotosOnPage')}</p>`
    : html`<ul class="grid" id="grid" aria-label="${m.tr.t('photos')}">
${tiles(m)}
</ul>`
}
${pagination(m)}
</main>
${selectionBar(m)}
${viewer(m, null, hasSlides(m))}
<div class="drop-overlay" id="drop-overlay" hidden><p>${m.tr.t('dropOverlay')}</p></div>
${footer(m.tr)}
${jsonScript('share-data', pageData(m))}`;
  return layout({
    lang: m.tr.locale,
    title: m.title,
    description: m.description,
    assets: m.assets,
    og: m.og,
    pageClass: 'page-album',
    body,
  });
}

/**
 * The next grid page as the bundle fetches it while the recipient scrolls (`x-share-continuation: 1`,
 * client/browser/share.ts `createPageLoader`): only what it reads, the page's data and its page links. No
 * tiles, viewer, header or preview card: those are the first page's, already on screen. Measured on a
 * 10,000-asset album, the full document was 260 KB per 120 photos (each tile's markup and placeholder twice,
 * as HTML and as data); this one is the data alone.
 */
export function albumPageContinuation(m: GridData): string {
  return html`<!doctype html>
<html lang="${m.tr.locale}">
<body>
${pagination(m)}
${jsonScript('share-data', pageData(m))}
</body>
</html>
`.value;
}

export function photoPage(m: PhotoPageModel): string {
  const close = `${gridUrl(m.base, m.gridPage, m.view)}#a-${m.item.id}`;
  const body = html`<h1 class="visually-hidden">${m.title}</h1>
${viewer(m, { item: m.item, index: m.index, prev: m.prev, next: m.next, close, view: m.view })}`;
  return layout({
    lang: m.tr.locale,
    title: `${itemLabel(m.tr, m.item, m.index + 1, m.total)} · ${m.title}`,
    description: m.description,
    assets: m.assets,
    og: m.og,
    pageClass: 'page-photo',
    body,
  });
}

export interface LockedPageModel {
  assets: StaticUrls;
  /** `/api/shared-links/login?key=…` */
  action: string;
  returnTo: string;
  error: string | null;
  tr: Translator;
}

export function lockedPage(m: LockedPageModel): string {
  const body = html`<main class="message-card" id="main">
<svg class="lock-icon" aria-hidden="true" viewBox="0 0 24 24" width="40" height="40" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"><rect x="4.5" y="10.5" width="15" height="10" rx="2"/><path d="M8 10.5V7.5a4 4 0 0 1 8 0v3"/><circle cx="12" cy="15.5" r="1.3" fill="currentColor"/></svg>
<h1>${m.tr.t('passwordRequired')}</h1>
<p>${m.tr.t('passwordText')}</p>
${m.error ? html`<p class="form-error" id="password-error" role="alert">${m.error}</p>` : ''}
<form class="password-form" method="post" action="${m.action}">
<input type="hidden" name="returnTo" value="${m.returnTo}">
<label class="field-label" for="password">${m.tr.t('password')}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus${m.error ? html` aria-invalid="true" aria-describedby="password-error"` : ''}>
<button type="submit" class="button button-primary">${m.tr.t('unlock')}</button>
</form>
</main>
${footer(m.tr)}`;
  return layout({
    lang: m.tr.locale,
    title: m.tr.t('passwordRequired'),
    assets: m.assets,
    pageClass: 'page-message page-locked',
    body,
  });
}

export function messagePage(m: {
  assets: StaticUrls;
  title: string;
  heading: SafeHtml | string;
  text: string;
  pageClass: string;
  backTo?: { href: string; label: string };
  tr: Translator;
}): string {
  const body = html`<main class="message-card" id="main">
<h1>${m.heading}</h1>
<p>${m.text}</p>
${m.backTo ? html`<p><a class="button" href="${m.backTo.href}">${m.backTo.label}</a></p>` : ''}
</main>
${footer(m.tr)}`;
  return layout({
    lang: m.tr.locale,
    title: m.title,
    assets: m.assets,
    pageClass: `page-message ${m.pageClass}`,
    body,
    script: false,
  });
}

export const notFoundPage = (assets: StaticUrls, tr: Translator): string =>
  messagePage({
    assets,
    tr,
    title: tr.t('notFound'),
    heading: tr.t('notFound'),
    text: tr.t('notFoundText'),
    pageClass: 'page-not-found',
  });

export function expiredPage(assets: StaticUrls, expiresAt: Date, tr: Translator): string {
  // the date goes inside <time>, wherever the language puts it in the sentence
  const [before = '', after = ''] = tr.t('expiredOn', { date: '\u0000' }).split('\u0000');
  return messagePage({
    assets,
    tr,
    title: tr.t('expiredTitle'),
    heading: html`${before}<time datetime="${expiresAt.toISOString()}">${tr.longDate(expiresAt)}</time>${after}`,
    text: tr.t('expiredText'),
    pageClass: 'page-expired',
  });
}

/** A limited link whose visits are used up (issue 19): 410, worded like the expired page. */
export const usedUpPage = (assets: StaticUrls, tr: Translator): string =>
  messagePage({
    assets,
    tr,
    title: tr.t('usedUpTitle'),
    heading: tr.t('usedUpHeading'),
    text: tr.t('usedUpText'),
    pageClass: 'page-used-up',
  });

/**
 * What a link-preview bot gets (issue 19 item 2): the Open Graph card and nothing of the link's content (no grid,
 * no script, no asset URL but the card image, which a password link does not name).
 */
export function previewCardPage(m: { assets: StaticUrls; tr: Translator; og: OpenGraph }): string {
  const body = html`<main class="message-card" id="main">
<h1>${m.og.title}</h1>
<p>${m.og.description}</p>
</main>
${footer(m.tr)}`;
  return layout({
    lang: m.tr.locale,
    title: m.og.title,
    assets: m.assets,
    pageClass: 'page-message page-preview-card',
    body,
    og: m.og,
    script: false,
  });
}

const footer = (tr: Translator) => html`<footer class="share-footer"><p>${tr.t('sharedWith')}</p></footer>`;
