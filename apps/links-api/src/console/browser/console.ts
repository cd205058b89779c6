/// <reference lib="dom" />
/// <reference lib="dom.iterable" />

import { thumbHashToDataURL } from 'thumbhash';
import { expiresAtFor } from '../expiry.ts';
import { qrModules } from '../qr.ts';
import { en as t } from '../strings.en.ts';
import { initActivity } from './activity.ts';
import { initShareSheet } from './share-sheet.ts';

/**
 * The owner console's one client bundle: sign-in without a page reload, selection in the library grid (click,
 * Shift-click for a range, select all), and the Create Shared Link dialog (slug checked as you type, the link's
 * URL with Copy, a locally drawn QR code and the system share sheet where the browser has one). Every request
 * goes to this origin with the session cookie; the browser adds `Origin`, which the API's CSRF check wants.
 */

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T | null;

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

// ── sign-in ─────────────────────────────────────────────────────────────────────────────────────────────

function initLogin(form: HTMLFormElement): void {
  const error = $('login-error')!;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const data = new FormData(form);
    let res: Response;
    try {
      res = await api('POST', '/api/auth/login', { email: data.get('email'), password: data.get('password') });
    } catch {
      error.textContent = t.signIn.unavailable;
      return;
    }
    if (res.status === 201) {
      location.assign('/');
      return;
    }
    error.textContent =
      res.status === 429 ? t.signIn.throttled : res.status >= 500 ? t.signIn.unavailable : t.signIn.failed;
  });
}

// ── library: selection ─────────────────────────────────────────────────────────────────────────────────

function initLibrary(): void {
  const grid = $('grid')!;
  const picks = () => [...grid.querySelectorAll<HTMLInputElement>('input.pick')];
  const count = $('selection-count')!;
  const share = ($<HTMLButtonElement>('share-selection') ?? $<HTMLButtonElement>('add-to'))!;
  let anchor: HTMLInputElement | null = null;

  const selected = () =>
    picks()
      .filter((p) => p.checked)
      .map((p) => p.value);
  const refresh = () => {
    const n = selected().length;
    count.textContent = t.library.selected(n);
    share.disabled = n === 0;
    const sheet = $<HTMLButtonElement>('share-sheet-button');
    if (sheet && sheet.dataset.busy !== 'true') sheet.disabled = n === 0;
    for (const p of picks()) p.closest('li')?.classList.toggle('selected', p.checked);
  };

  // one listener for every tile, uploaded ones included; Shift-click selects the range from the last clicked photo
  grid.addEventListener('click', (ev) => {
    const pick = ev.target as HTMLInputElement;
    if (!pick.classList?.contains('pick')) return;
    const all = picks();
    const at = all.indexOf(pick);
    const from = anchor ? all.indexOf(anchor) : -1;
    if (ev.shiftKey && from >= 0) {
      const [a, b] = from < at ? [from, at] : [at, from];
      for (let k = a; k <= b; k++) all[k]!.checked = pick.checked;
    }
    anchor = pick;
    refresh();
  });
  $('select-all')?.addEventListener('click', () => {
    for (const p of picks()) p.checked = true;
    refresh();
  });
  $('clear-selection')?.addEventListener('click', () => {
    for (const p of picks()) p.checked = false;
    anchor = null;
    refresh();
  });
  if (!share.dataset.targetId) initShareSheet(share, selected, count);
  share.addEventListener('click', async (ev) => {
    ev.preventDefault(); // without JavaScript it submits the selection to the page form
    const id = share.dataset.targetId;
    if (!id) {
      openCreateLink({ kind: 'individual', assetIds: selected() });
      return;
    }
    const album = share.dataset.kind === 'album';
    const path = album ? `/api/albums/${id}/assets` : `/api/shared-links/${id}/assets`;
    const body = album ? { ids: selected() } : { assetIds: selected() };
    const res = await api('PUT', path, body).catch(() => null);
    if (res?.ok) location.assign(album ? `/albums/${id}` : '/links');
    else count.textContent = t.links.photosFailed;
  });
  for (const img of grid.querySelectorAll<HTMLImageElement>('img[data-placeholder]')) whenLoaded(img);
  // tiles still being processed follow their asset until it is ready or failed
  for (const tile of grid.querySelectorAll<HTMLElement>('li.status-uploaded, li.status-processing')) {
    const id = tile.querySelector<HTMLInputElement>('input.pick')?.value;
    if (id) void follow(id, tile);
  }
  initUpload(grid, refresh);
  initCreateLink();
  refresh();
}

// ── library: upload ─────────────────────────────────────────────────────────────────────────────────

/** A thumbnail replaces its placeholder once loaded. */
function whenLoaded(img: HTMLImageElement): void {
  const done = () => img.closest('label')?.classList.add('loaded');
  if (img.complete && img.naturalWidth > 0) done();
  else img.addEventListener('load', done, { once: true });
}

interface AssetDto {
  id: string;
  originalFileName: string;
  status: 'uploaded' | 'processing' | 'ready' | 'failed';
  error?: string | null;
  thumbhash: string | null;
}

/** The tile's picture, or its status ("Processing", "Failed: reason"): the same markup as the server's. */
function renderTileBody(label: HTMLElement, asset: AssetDto): void {
  const name = document.createElement('span');
  name.className = 'visually-hidden';
  name.textContent = t.library.photo(asset.originalFileName);
  const parts: HTMLElement[] = [name];
  if (asset.status === 'ready') {
    const img = document.createElement('img');
    img.src = `/api/assets/${asset.id}/thumbnail`;
    img.alt = '';
    img.width = 250;
    img.height = 250;
    const placeholder = asset.thumbhash ? thumbhashUrl(asset.thumbhash) : null;
    if (placeholder) img.dataset.placeholder = 'true';
    parts.push(img);
    if (placeholder) {
      const ph = document.createElement('img');
      ph.className = 'placeholder';
      ph.src = placeholder;
      ph.alt = '';
      parts.push(ph);
    }
    whenLoaded(img);
  } else {
    const status = document.createElement('span');
    status.className = 'status';
    status.textContent =
      asset.status === 'failed' && asset.error
        ? `${t.library.status.failed}: ${asset.error}`
        : t.library.status[asset.status];
    parts.push(status);
  }
  label.replaceChildren(...parts);
  label.closest('li')!.className = `tile status-${asset.status}`;
}

function thumbhashUrl(base64: string): string | null {
  try {
    return thumbHashToDataURL(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

function newTile(asset: AssetDto): HTMLLIElement {
  const li = document.createElement('li');
  const pick = document.createElement('input');
  pick.type = 'checkbox';
  pick.className = 'pick';
  pick.name = 'assetId';
  pick.id = `pick-${asset.id}`;
  pick.value = asset.id;
  const label = document.createElement('label');
  label.htmlFor = pick.id;
  li.append(pick, label);
  renderTileBody(label, asset);
  return li;
}

const FOLLOW_INTERVAL_MS = 1000;
/** about ten minutes: a photo is ready in seconds, a long video's rendition does not hold its tile */
const FOLLOW_MAX_POLLS = 600;

/** Polls one asset until the ingest worker has made it ready or failed, updating its tile each time it changes. */
async function follow(id: string, tile: HTMLElement): Promise<void> {
  let last = '';
  for (let i = 0; i < FOLLOW_MAX_POLLS && tile.isConnected; i++) {
    await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
    const res = await api('GET', `/api/assets/${id}`).catch(() => null);
    if (!res?.ok) continue;
    const asset = (await res.json()) as AssetDto;
    if (asset.status !== last) {
      last = asset.status;
      renderTileBody(tile.querySelector('label')!, asset);
    }
    if (asset.status === 'ready' || asset.status === 'failed') return;
  }
}

/** One file to POST /api/assets (Immich's multipart) with XMLHttpRequest, whose upload events give progress. */
function sendFile(file: File, progress: HTMLProgressElement): Promise<{ id: string; status: string } | number> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/assets');
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) progress.value = e.loaded / e.total;
    });
    xhr.addEventListener('load', () =>
      resolve(xhr.status === 200 || xhr.status === 201 ? (xhr.response as { id: string; status: string }) : xhr.status),
    );
    xhr.addEventListener('error', () => resolve(0));
    const when = new Date(file.lastModified || Date.now()).toISOString();
    const form = new FormData();
    form.append('deviceAssetId', `console-${file.name}-${file.size}-${file.lastModified}`);
    form.append('deviceId', 'immish-console');
    form.append('fileCreatedAt', when);
    form.append('fileModifiedAt', when);
    form.append('assetData', file, file.name);
    xhr.send(form);
  });
}

function initUpload(grid: HTMLElement, refresh: () => void): void {
  const input = $<HTMLInputElement>('upload-files');
  const list = $('upload-list');
  if (!input || !list) return;
  const u = t.library.upload;
  $('upload-button')?.addEventListener('click', () => input.click());

  const uploadAll = async (files: File[]) => {
    if (files.length === 0) return;
    $('uploads')!.hidden = false;
    $('library-empty')?.remove();
    const rows = files.map((file) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'upload-name';
      name.textContent = file.name;
      const progress = document.createElement('progress');
      progress.max = 1;
      progress.value = 0;
      progress.setAttribute('aria-label', u.progressOf(file.name));
      const state = document.createElement('span');
      state.className = 'upload-state';
      state.textContent = u.waiting;
      li.append(name, progress, state);
      list.append(li);
      return { file, li, progress, state };
    });
    // one file at a time: the bars fill in order and a phone's uplink is not split many ways
    for (const row of rows) {
      row.state.textContent = u.sending;
      const result = await sendFile(row.file, row.progress);
      if (typeof result === 'number') {
        row.li.classList.add('failed');
        row.state.textContent = result === 413 ? u.tooLarge : result === 415 ? u.unsupported : u.failed;
        continue;
      }
      row.progress.value = 1;
      row.li.classList.add('done');
      row.state.textContent = result.status === 'duplicate' ? u.duplicate : u.done;
      if (result.status === 'duplicate' || document.getElementById(`pick-${result.id}`)) continue;
      const tile = newTile({
        id: result.id,
        originalFileName: row.file.name,
        status: 'processing',
        thumbhash: null,
      });
      grid.prepend(tile);
      void follow(result.id, tile);
    }
    refresh();
  };

  input.addEventListener('change', () => {
    void uploadAll([...(input.files ?? [])]);
    input.value = '';
  });
  // drag-and-drop anywhere on the library
  const zone = document.querySelector('main')!;
  zone.addEventListener('dragover', (ev) => {
    if (!ev.dataTransfer?.types.includes('Files')) return;
    ev.preventDefault();
    zone.classList.add('dropping');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dropping'));
  zone.addEventListener('drop', (ev) => {
    if (!ev.dataTransfer?.files.length) return;
    ev.preventDefault();
    zone.classList.remove('dropping');
    void uploadAll([...ev.dataTransfer.files]);
  });
}

// ── Create Shared Link ────────────────────────────────────────────────────────────────────────────────

const SLUG = /^[A-Za-z0-9_-]{3,40}$/;
/** What the Create Shared Link form is for: a selection, an album, or an existing link to edit. */
type LinkFormTarget =
  | { kind: 'individual'; assetIds: string[] }
  | { kind: 'album'; albumId: string; albumName: string }
  | { kind: 'edit'; link: LinkDto };

interface LinkDto {
  id: string;
  type: 'ALBUM' | 'INDIVIDUAL';
  description: string | null;
  slug: string | null;
  url: string;
  expiresAt: string | null;
  allowDownload: boolean;
  allowUpload: boolean;
  showMetadata: boolean;
  hasPassword: boolean;
  maxVisits: number | null;
  maxDownloads: number | null;
  maxUploads: number | null;
  uploadReview?: boolean;
  maxUploadBytes?: number | null;
  album?: { albumName: string };
  assets: { id: string; originalFileName: string }[];
}

let target: LinkFormTarget = { kind: 'individual', assetIds: [] };
let slugOk = true;

function openCreateLink(next: LinkFormTarget): void {
  target = next;
  const dialog = $<HTMLDialogElement>('create-link')!;
  const form = $<HTMLFormElement>('create-link-form')!;
  const v = (id: string) => $<HTMLInputElement>(id)!;
  const editing = next.kind === 'edit';
  form.reset();
  form.hidden = false;
  $('cl-result')!.hidden = true;
  $('cl-error')!.textContent = '';
  $('cl-slug-status')!.textContent = '';
  v('cl-slug').removeAttribute('aria-invalid');
  slugOk = true;
  const title = $('create-link-title')!;
  title.textContent = (editing ? title.dataset.edit : title.dataset.create) ?? '';
  const submit = $('cl-create')!;
  submit.textContent = (editing ? submit.dataset.edit : submit.dataset.create) ?? '';

  // Expires: "Unchanged" exists only while editing (the seed's PATCH with changeExpiryTime=false)
  const expires = $<HTMLSelectElement>('cl-expires')!;
  expires.querySelector('option[value="keep"]')?.remove();
  if (editing) {
    const keep = new Option(t.createLink.keepExpiry, 'keep', true, true);
    expires.prepend(keep);
    expires.value = 'keep';
  }

  // Allow Upload: album links only
  const isAlbum = next.kind === 'album' || (next.kind === 'edit' && next.link.type === 'ALBUM');
  const upload = v('cl-allow-upload');
  upload.disabled = !isAlbum;
  $('cl-allow-upload-hint')!.hidden = isAlbum;
  $('cl-password-hint')!.textContent =
    editing && next.link.hasPassword ? t.createLink.passwordKeepHint : t.createLink.passwordHint;

  let what: string;
  if (next.kind === 'individual') what = t.createLink.forSelection(next.assetIds.length);
  else if (next.kind === 'album') what = t.createLink.forAlbum(next.albumName);
  else {
    const l = next.link;
    what = t.createLink.editing(l.description || l.album?.albumName || t.links.untitled);
    v('cl-description').value = l.description ?? '';
    v('cl-allow-download').checked = l.allowDownload;
    upload.checked = l.allowUpload;
    v('cl-upload-review').checked = l.uploadReview ?? false;
    v('cl-upload-budget').value = l.maxUploadBytes ? String(l.maxUploadBytes / 1_000_000) : '';
    v('cl-show-metadata').checked = l.showMetadata;
    v('cl-slug').value = l.slug ?? '';
    v('cl-max-visits').value = l.maxVisits === null ? '' : String(l.maxVisits);
    v('cl-max-downloads').value = l.maxDownloads === null ? '' : String(l.maxDownloads);
    v('cl-max-uploads').value = l.maxUploads === null ? '' : String(l.maxUploads);
  }
  $('create-link-target')!.textContent = what;
  syncUploadOptions();
  if (!dialog.open) dialog.showModal();
  v('cl-description').focus();
}

/**
 * Review guest uploads and the upload budget apply only to what guests upload: they can be set while Allow Upload
 * is on (an album link), and are shown unavailable otherwise. Their values are kept either way, so turning uploads
 * off and on again restores them (the PATCH still sends them for an album link).
 */
function syncUploadOptions(): void {
  const upload = $<HTMLInputElement>('cl-allow-upload')!;
  const off = upload.disabled || !upload.checked;
  $<HTMLInputElement>('cl-upload-review')!.disabled = off;
  $<HTMLInputElement>('cl-upload-budget')!.disabled = off;
}

function drawQr(container: HTMLElement, text: string): void {
  const { size: n, path: d } = qrModules(text);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${n} ${n}`);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('aria-hidden', 'true');
  const bg = document.createElementNS(ns, 'rect');
  bg.setAttribute('width', String(n));
  bg.setAttribute('height', String(n));
  bg.setAttribute('fill', '#fff');
  svg.append(bg);
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(path);
  container.replaceChildren(svg);
}

function initCreateLink(): void {
  const dialog = $<HTMLDialogElement>('create-link');
  const form = $<HTMLFormElement>('create-link-form');
  if (!dialog || !form) return;
  const slug = $<HTMLInputElement>('cl-slug')!;
  const slugStatus = $('cl-slug-status')!;
  const error = $('cl-error')!;
  let slugTimer: ReturnType<typeof setTimeout> | undefined;
  let slugSeq = 0;

  // Validated as you type: the rule first (no request), then whether it is taken (one request, debounced)
  slug.addEventListener('input', () => {
    clearTimeout(slugTimer);
    const value = slug.value.trim();
    slug.removeAttribute('aria-invalid');
    const own = target.kind === 'edit' ? target.link.slug : null;
    if (value === '' || (own !== null && own.toLowerCase() === value.toLowerCase())) {
      slugOk = true;
      slugStatus.textContent = '';
      return;
    }
    if (!SLUG.test(value)) {
      slugOk = false;
      slug.setAttribute('aria-invalid', 'true');
      slugStatus.textContent = t.createLink.customUrlHint;
      return;
    }
    slugOk = false;
    slugStatus.textContent = t.createLink.slugChecking;
    const seq = ++slugSeq;
    slugTimer = setTimeout(async () => {
      const res = await api('GET', `/api/shared-link-slugs/availability?slug=${encodeURIComponent(value)}`);
      if (seq !== slugSeq) return;
      const body = res.ok ? ((await res.json()) as { available: boolean; problem: string | null }) : null;
      slugOk = body?.available === true;
      if (!slugOk) slug.setAttribute('aria-invalid', 'true');
      slugStatus.textContent = slugOk ? t.createLink.slugAvailable : body?.problem ? t.createLink.slugTaken : '';
    }, 250);
  });

  $('cl-allow-upload')!.addEventListener('change', syncUploadOptions);
  $('cl-cancel')!.addEventListener('click', () => dialog.close());
  $('cl-done')!.addEventListener('click', () => dialog.close());

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    if (!slugOk) {
      slug.focus();
      return;
    }
    const v = (id: string) => $<HTMLInputElement>(id)!;
    // issue 19: guest-upload moderation (album links); the budget is typed in MB (1 MB = 1 000 000 bytes)
    const moderation = () => {
      const mb = Number(v('cl-upload-budget').value);
      return {
        uploadReview: v('cl-upload-review').checked,
        maxUploadBytes: v('cl-upload-budget').value.trim() && mb > 0 ? Math.max(1, Math.round(mb * 1_000_000)) : null,
      };
    };
    const choice = $<HTMLSelectElement>('cl-expires')!.value;
    // limited links (issue 19): an empty field is no limit (null); the API refuses anything but a positive integer
    const limit = (id: string) => (v(id).value.trim() === '' ? null : Number(v(id).value.trim()));
    const common = {
      description: v('cl-description').value || null,
      allowDownload: v('cl-allow-download').checked,
      showMetadata: v('cl-show-metadata').checked,
      maxVisits: limit('cl-max-visits'),
      maxDownloads: limit('cl-max-downloads'),
      maxUploads: limit('cl-max-uploads'),
    };
    let res: Response;
    if (target.kind === 'edit') {
      const link = target.link;
      const newSlug = slug.value.trim() || null;
      const edit = {
        ...common,
        changeExpiryTime: choice !== 'keep',
        ...(choice !== 'keep' ? { expiresAt: expiresAtFor(choice) } : {}),
        ...(link.type === 'ALBUM' ? { allowUpload: v('cl-allow-upload').checked, ...moderation() } : {}),
        ...(v('cl-password').value ? { password: v('cl-password').value } : {}),
        ...(newSlug !== link.slug ? { slug: newSlug } : {}),
      };
      res = await api('PATCH', `/api/shared-links/${link.id}`, edit);
      if (res.ok) {
        dialog.close();
        location.reload();
        return;
      }
    } else {
      res = await api('POST', '/api/shared-links', {
        ...common,
        ...(target.kind === 'album'
          ? { type: 'ALBUM', albumId: target.albumId, allowUpload: v('cl-allow-upload').checked, ...moderation() }
          : { type: 'INDIVIDUAL', assetIds: target.assetIds, allowUpload: false }),
        expiresAt: expiresAtFor(choice),
        password: v('cl-password').value || null,
        slug: slug.value.trim() || null,
      });
    }
    if (!res.ok) {
      const problem = (await res.json().catch(() => null)) as { message?: string } | null;
      error.textContent = `${t.createLink.failed}: ${problem?.message ?? res.status}`;
      return;
    }
    const link = (await res.json()) as { url: string };
    form.hidden = true;
    const result = $('cl-result')!;
    result.hidden = false;
    const url = $<HTMLInputElement>('cl-url')!;
    url.value = link.url;
    drawQr($('cl-qr')!, link.url);
    const share = $<HTMLButtonElement>('cl-share')!;
    share.hidden = typeof navigator.share !== 'function';
    share.onclick = () => navigator.share({ url: link.url }).catch(() => undefined);
    const copy = $<HTMLButtonElement>('cl-copy')!;
    copy.textContent = t.createLink.copy;
    copy.onclick = async () => {
      try {
        await navigator.clipboard.writeText(link.url);
      } catch {
        url.select(); // no clipboard permission: leave it selected for Ctrl-C
      }
      copy.textContent = t.createLink.copied;
    };
    url.focus();
    url.select();
  });
}

// ── albums ────────────────────────────────────────────────────────────────────────────────────────────

function initAlbums(): void {
  initCreateLink();
  const form = $<HTMLFormElement>('new-album-form');
  form?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const res = await api('POST', '/api/albums', {
      albumName: String(data.get('albumName') ?? ''),
      description: String(data.get('description') ?? ''),
    }).catch(() => null);
    if (!res?.ok) {
      $('new-album-error')!.textContent = t.albums.createFailed;
      return;
    }
    location.assign(`/albums/${((await res.json()) as { id: string }).id}`);
  });
  for (const button of document.querySelectorAll<HTMLElement>('.share-album')) {
    // a link to the page form without JavaScript, a button with it: Space presses it too
    button.addEventListener('keydown', (ev) => {
      if (ev.key !== ' ') return;
      ev.preventDefault();
      button.click();
    });
    button.addEventListener('click', (ev) => {
      ev.preventDefault();
      openCreateLink({
        kind: 'album',
        albumId: button.dataset.albumId ?? '',
        albumName: button.dataset.albumName ?? '',
      });
    });
  }
}

// ── one album ─────────────────────────────────────────────────────────────────────────────────────────

function initAlbum(): void {
  initAlbums();
  const albumId = $('album-toolbar')?.dataset.albumId ?? '';
  const a = t.albums;
  const fail = (id: string, text: string) => {
    $(id)!.textContent = text;
  };

  const details = $<HTMLFormElement>('album-details');
  details?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData(details);
    const res = await api('PATCH', `/api/albums/${albumId}`, {
      albumName: String(data.get('albumName') ?? ''),
      description: String(data.get('description') ?? ''),
    }).catch(() => null);
    if (res?.ok) location.reload();
    else fail('album-details-status', a.saveFailed);
  });

  for (const button of document.querySelectorAll<HTMLButtonElement>('#album-grid .remove-photo')) {
    button.addEventListener('click', async () => {
      const tile = button.closest<HTMLElement>('li')!;
      const res = await api('DELETE', `/api/albums/${albumId}/assets`, { ids: [tile.dataset.assetId] }).catch(
        () => null,
      );
      if (!res?.ok) return fail('album-photos-error', a.changeFailed);
      const next = (tile.nextElementSibling ?? tile.previousElementSibling)?.querySelector('button');
      tile.remove();
      (next as HTMLButtonElement | null | undefined)?.focus();
    });
  }

  for (const row of document.querySelectorAll<HTMLElement>('#members li.member')) {
    const userId = row.dataset.userId ?? '';
    row.querySelector<HTMLSelectElement>('select.member-role')?.addEventListener('change', async (ev) => {
      const role = (ev.currentTarget as HTMLSelectElement).value;
      const res = await api('PUT', `/api/albums/${albumId}/user/${userId}`, { role }).catch(() => null);
      fail('members-error', res?.ok ? '' : a.changeFailed);
    });
    // a submit button of the row's form without JavaScript
    row.querySelector('button.remove-member')?.addEventListener('click', async (ev) => {
      ev.preventDefault();
      const res = await api('DELETE', `/api/albums/${albumId}/user/${userId}`).catch(() => null);
      if (res?.ok) row.remove();
      else fail('members-error', a.changeFailed);
    });
  }

  const invite = $<HTMLFormElement>('invite-form');
  invite?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData(invite);
    const email = String(data.get('email') ?? '')
      .trim()
      .toLowerCase();
    // Immich's way: the user list, then the album's members endpoint with the id
    const users = await api('GET', '/api/users').catch(() => null);
    const found = users?.ok
      ? ((await users.json()) as { id: string; email: string }[]).find((u) => u.email.toLowerCase() === email)
      : undefined;
    if (!found) return fail('members-error', a.noSuchUser);
    if (document.querySelector(`#members li[data-user-id="${found.id}"]`))
      return fail('members-error', a.alreadyMember);
    const res = await api('PUT', `/api/albums/${albumId}/users`, {
      albumUsers: [{ userId: found.id, role: String(data.get('role') ?? 'viewer') }],
    }).catch(() => null);
    if (res?.ok) location.reload();
    else fail('members-error', a.inviteFailed);
  });

  $('leave-album')?.addEventListener('click', async (ev) => {
    ev.preventDefault(); // it submits its form without JavaScript
    const res = await api('DELETE', `/api/albums/${albumId}/user/me`).catch(() => null);
    if (res?.ok) location.assign('/albums');
    else fail('members-error', a.changeFailed);
  });
}

// ── links ─────────────────────────────────────────────────────────────────────────────────────────────

function initLinks(): void {
  initCreateLink();
  const data = $('links-data');
  const links = new Map<string, LinkDto>(
    ((data ? JSON.parse(data.textContent ?? '[]') : []) as LinkDto[]).map((l) => [l.id, l]),
  );
  const filter = $<HTMLSelectElement>('album-filter');
  // the filter applies on change; its button stays for pages without JavaScript
  filter?.addEventListener('change', () => $<HTMLFormElement>('links-filter')?.requestSubmit());

  const qrDialog = $<HTMLDialogElement>('qr-dialog')!;
  $('qr-close')?.addEventListener('click', () => qrDialog.close());
  const confirm = $<HTMLDialogElement>('confirm-delete')!;
  let deleting: LinkDto | null = null;
  let opener: HTMLElement | null = null;
  $('confirm-delete-cancel')?.addEventListener('click', () => confirm.close());
  $('confirm-delete-ok')?.addEventListener('click', async () => {
    if (!deleting) return;
    const res = await api('DELETE', `/api/shared-links/${deleting.id}`).catch(() => null);
    if (!res?.ok) {
      $('confirm-delete-error')!.textContent = t.links.deleteFailed;
      return;
    }
    $(`link-${deleting.id}`)?.remove();
    links.delete(deleting.id);
    confirm.close();
    if (links.size === 0) location.reload();
    else $<HTMLAnchorElement>('album-filter')?.focus();
  });
  confirm.addEventListener('close', () => {
    if (opener?.isConnected) opener.focus();
  });

  const photos = $<HTMLDialogElement>('link-photos')!;
  $('link-photos-close')?.addEventListener('click', () => photos.close());
  photos.addEventListener('close', () => {
    if (photos.dataset.changed === 'true') location.reload();
  });

  for (const row of document.querySelectorAll<HTMLElement>('li.link')) {
    const link = links.get(row.dataset.linkId ?? '');
    if (!link) continue;
    const title = link.description || link.album?.albumName || t.links.untitled;
    row.querySelector('[data-action="copy"]')?.addEventListener('click', async (ev) => {
      const button = ev.currentTarget as HTMLButtonElement;
      await navigator.clipboard.writeText(link.url).catch(() => undefined);
      button.textContent = t.links.copied;
    });
    row.querySelector('[data-action="qr"]')?.addEventListener('click', () => {
      $('qr-url')!.textContent = link.url;
      drawQr($('qr-code')!, link.url);
      qrDialog.showModal();
      $('qr-close')?.focus();
    });
    // Edit and Delete are links to their pages without JavaScript, buttons opening a dialog with it
    for (const button of row.querySelectorAll<HTMLElement>('a[data-action]')) {
      button.addEventListener('keydown', (ev) => {
        if (ev.key !== ' ') return;
        ev.preventDefault();
        button.click();
      });
      button.addEventListener('click', (ev) => ev.preventDefault());
    }
    row.querySelector('[data-action="edit"]')?.addEventListener('click', () => openCreateLink({ kind: 'edit', link }));
    row.querySelector('[data-action="delete"]')?.addEventListener('click', (ev) => {
      deleting = link;
      opener = ev.currentTarget as HTMLElement;
      $('confirm-delete-text')!.textContent = t.links.deleteText(title);
      $('confirm-delete-error')!.textContent = '';
      confirm.showModal();
      $('confirm-delete-cancel')?.focus();
    });
    row.querySelector('[data-action="photos"]')?.addEventListener('click', () => openLinkPhotos(link, photos));
  }
}

/** An individual link's photos, each removable; "Add photos" goes to the library to pick more. */
function openLinkPhotos(link: LinkDto, dialog: HTMLDialogElement): void {
  const grid = $('link-photos-grid')!;
  const error = $('link-photos-error')!;
  error.textContent = '';
  dialog.dataset.changed = 'false';
  $<HTMLAnchorElement>('link-photos-add')!.href = `/?addTo=${encodeURIComponent(link.id)}`;
  grid.replaceChildren(
    ...link.assets.map((asset) => {
      const li = document.createElement('li');
      li.className = 'tile';
      const img = document.createElement('img');
      img.src = `/api/assets/${asset.id}/thumbnail`;
      img.alt = asset.originalFileName;
      img.width = 120;
      img.height = 120;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'remove-photo';
      remove.textContent = t.albums.removeSymbol;
      remove.setAttribute('aria-label', t.links.removePhoto(asset.originalFileName));
      remove.addEventListener('click', async () => {
        const res = await api('DELETE', `/api/shared-links/${link.id}/assets`, { assetIds: [asset.id] }).catch(
          () => null,
        );
        if (!res?.ok) {
          error.textContent = t.links.photosFailed;
          return;
        }
        dialog.dataset.changed = 'true';
        const next = li.nextElementSibling ?? li.previousElementSibling;
        li.remove();
        (next?.querySelector('button') as HTMLButtonElement | null)?.focus();
      });
      li.append(img, remove);
      return li;
    }),
  );
  dialog.showModal();
  $('link-photos-close')?.focus();
}

// ──────────────────────────────────────────────────────────────────────────────────────────────────────

const login = $<HTMLFormElement>('login-form');
if (login) initLogin(login);
// ── webhooks: the secret, shown once ────────────────────────────────────────────────────────────────────

/**
 * The page that answers the add form shows the secret; a reload must not show it again (nor post the form
 * again): the address becomes the endpoint's own page. Copy puts the secret on the clipboard.
 */
function initWebhookCreated(): void {
  const section = $('webhook-created');
  const secret = $<HTMLInputElement>('wh-secret');
  const copy = $<HTMLButtonElement>('wh-copy');
  if (!section || !secret || !copy) return;
  history.replaceState(null, '', `/webhooks/${section.dataset.webhookId}`);
  copy.hidden = false;
  copy.onclick = async () => {
    try {
      await navigator.clipboard.writeText(secret.value);
    } catch {
      secret.select(); // no clipboard permission: leave it selected for Ctrl-C
    }
    copy.textContent = copy.dataset.copied ?? copy.textContent;
  };
}

$('sign-out')?.addEventListener('click', async (ev) => {
  ev.preventDefault(); // without JavaScript it posts its form to /logout
  await api('POST', '/api/auth/logout').catch(() => undefined);
  location.assign('/');
});
if (document.body.classList.contains('page-library')) initLibrary();
if (document.body.classList.contains('page-albums')) {
  if ($('album-toolbar')) initAlbum();
  else initAlbums();
}
if (document.body.classList.contains('page-links')) initLinks();
if (document.body.classList.contains('page-webhook-created')) initWebhookCreated();
if (document.body.classList.contains('page-link-activity')) initActivity();
// the PWA's service worker: the share target and the app shell (issue 15; src/console/pwa/sw.ts)
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
document.body.dataset.ready = 'true';
