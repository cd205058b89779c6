import type { AlbumResponseDto } from '@immish/contracts';
import type { UserRow } from '@immish/db';
import { html, type SafeHtml } from '@immish/runtime';
import type { ShareStrings } from './strings.en.ts';

/** The share screen's static files: the console's CSS, the screen's own CSS and script (content-hashed URLs). */
export interface ShareScreenAssets {
  consoleCss: string;
  css: string;
  js: string;
}

function layout(t: ShareStrings, assets: ShareScreenAssets, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="color-scheme" content="light dark">
<title>${t.title}</title>
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="/icons/icon-192.png" type="image/png">
<link rel="stylesheet" href="${assets.consoleCss}">
<link rel="stylesheet" href="${assets.css}">
<script src="${assets.js}" defer></script>
</head>
<body class="page-share-target">
${body}
</body>
</html>
`.value;
}

/** Signed out: the shared files wait in the inbox cache; sign in here, then the same screen shows them. */
export function shareSignInPage(t: ShareStrings, assets: ShareScreenAssets): string {
  return layout(
    t,
    assets,
    html`<main class="login share-screen">
<h1>${t.title}</h1>
<p>${t.signInFirst}</p>
<p id="share-waiting" role="status"></p>
<form id="share-login" class="card">
  <label for="email">${t.email}</label>
  <input id="email" name="email" type="email" autocomplete="username" required>
  <label for="password">${t.password}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <p id="share-login-error" role="alert"></p>
  <button type="submit" class="primary">${t.signIn}</button>
</form>
</main>`,
  );
}

/** "Upload to immish": previews, "N photos ready to upload", the optional album, Cancel / Upload, progress, Back. */
export function shareScreenPage(
  t: ShareStrings,
  assets: ShareScreenAssets,
  _user: UserRow,
  albums: AlbumResponseDto[],
  lost: boolean,
): string {
  return layout(
    t,
    assets,
    html`<main class="share-screen">
<h1>${t.title}</h1>
${lost ? html`<p class="share-lost" role="alert">${t.lost}</p>` : ''}
<p id="share-count" role="status"></p>
<ul id="share-previews" class="share-previews"></ul>
<input id="share-files" type="file" accept="image/*,video/*" multiple hidden>
<div id="share-actions" class="share-actions">
  <button type="button" id="share-pick">${t.pick}</button>
  <label for="share-album">${t.album}</label>
  <select id="share-album">
    <option value="">${t.noAlbum}</option>
    ${albums.map((a) => html`<option value="${a.id}">${a.albumName}</option>`)}
    <option value="new">${t.newAlbum}</option>
  </select>
  <p id="share-new-album" hidden>
    <label for="share-new-album-name">${t.newAlbumName}</label>
    <input id="share-new-album-name" type="text" maxlength="200">
  </p>
  <p id="share-error" role="alert"></p>
  <div class="share-buttons">
    <button type="button" id="share-cancel" class="secondary">${t.cancel}</button>
    <button type="button" id="share-upload" class="primary" disabled>${t.upload}</button>
  </div>
</div>
<ul id="share-progress" class="upload-list"></ul>
<button type="button" id="share-back" class="primary" hidden>${t.back}</button>
</main>`,
  );
}
