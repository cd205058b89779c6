import type { AssetRow, UserRow } from '@immish/db';
import { thumbhashDataUrl } from '@immish/media';
import { html, type SafeHtml } from '@immish/runtime';
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
<link rel="icon" href="data:,">
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

const EXPIRY_CHOICES = ['never', 'm30', 'h1', 'h6', 'd1', 'd7', 'd30', 'mo3', 'y1'] as const;

function createLinkDialog(t: ConsoleStrings): SafeHtml {
  const c = t.createLink;
  return html`<dialog id="create-link" aria-labelledby="create-link-title">
<form id="create-link-form" method="dialog" novalidate>
  <h2 id="create-link-title">${c.title}</h2>
  <p id="create-link-target" class="muted"></p>
  <label for="cl-description">${c.description}</label>
  <input id="cl-description" name="description" type="text" maxlength="1000">
  <label for="cl-expires">${c.expires}</label>
  <select id="cl-expires" name="expires">
    ${EXPIRY_CHOICES.map((k) => html`<option value="${k}">${c.expiry[k]}</option>`)}
  </select>
  <div class="toggle"><input id="cl-allow-download" name="allowDownload" type="checkbox" checked><label for="cl-allow-download">${c.allowDownload}</label></div>
  <div class="toggle"><input id="cl-allow-upload" name="allowUpload" type="checkbox" disabled aria-describedby="cl-allow-upload-hint"><label for="cl-allow-upload">${c.allowUpload}</label></div>
  <p id="cl-allow-upload-hint" class="hint">${c.allowUploadHint}</p>
  <div class="toggle"><input id="cl-show-metadata" name="showMetadata" type="checkbox" checked><label for="cl-show-metadata">${c.showMetadata}</label></div>
  <label for="cl-password">${c.password}</label>
  <input id="cl-password" name="password" type="password" autocomplete="new-password" aria-describedby="cl-password-hint">
  <p id="cl-password-hint" class="hint">${c.passwordHint}</p>
  <label for="cl-slug">${c.customUrl}</label>
  <input id="cl-slug" name="slug" type="text" autocomplete="off" spellcheck="false" maxlength="40" aria-describedby="cl-slug-hint cl-slug-status">
  <p id="cl-slug-hint" class="hint">${c.customUrlHint}</p>
  <p id="cl-slug-status" class="hint" aria-live="polite"></p>
  <p id="cl-error" class="error" role="alert"></p>
  <div class="actions">
    <button type="button" id="cl-cancel" class="secondary">${c.cancel}</button>
    <button type="submit" id="cl-create">${c.create}</button>
  </div>
</form>
<section id="cl-result" hidden aria-labelledby="cl-result-title">
  <h2 id="cl-result-title">${c.created}</h2>
  <label for="cl-url">URL</label>
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

export function libraryPage(t: ConsoleStrings, assets: ConsoleAssets, user: UserRow, photos: AssetRow[]): string {
  const l = t.library;
  const tiles = photos.map(
    (a, i) => html`<li class="tile status-${a.status}">
  <input type="checkbox" class="pick" id="pick-${a.id}" value="${a.id}" data-index="${i}">
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
  return layout(
    t,
    assets,
    l.title,
    'page-library',
    html`<header class="bar">
  <h1>${t.appName}</h1>
  <nav aria-label="${t.appName}"><span class="muted">${t.nav.signedInAs} ${user.email}</span>
  <button type="button" id="sign-out" class="secondary">${t.nav.signOut}</button></nav>
</header>
<main>
  <div class="toolbar" role="toolbar" aria-label="${l.title}">
    <h2>${l.title}</h2>
    <span id="selection-count" aria-live="polite">${l.selected(0)}</span>
    <button type="button" id="select-all" class="secondary">${l.selectAll}</button>
    <button type="button" id="clear-selection" class="secondary">${l.clearSelection}</button>
    <button type="button" id="share-selection" disabled>${l.share}</button>
  </div>
  <p class="hint">${l.shareHint}</p>
  ${photos.length === 0 ? html`<p class="empty">${l.empty}</p>` : html`<ul class="grid" id="grid">${tiles}</ul>`}
</main>
${createLinkDialog(t)}`,
  );
}
