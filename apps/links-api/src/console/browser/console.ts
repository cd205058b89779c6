/// <reference lib="dom" />
/// <reference lib="dom.iterable" />

import { encode } from 'uqr';
import { en as t } from '../strings.en.ts';

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
  const picks = [...document.querySelectorAll<HTMLInputElement>('input.pick')];
  const count = $('selection-count')!;
  const share = $<HTMLButtonElement>('share-selection')!;
  let anchor: number | null = null;

  const selected = () => picks.filter((p) => p.checked).map((p) => p.value);
  const refresh = () => {
    const n = selected().length;
    count.textContent = t.library.selected(n);
    share.disabled = n === 0;
    for (const p of picks) p.closest('li')?.classList.toggle('selected', p.checked);
  };

  for (const [i, pick] of picks.entries()) {
    // Shift-click selects the range from the last clicked photo, as in every photo manager
    pick.addEventListener('click', (ev) => {
      if (ev.shiftKey && anchor !== null) {
        const [from, to] = anchor < i ? [anchor, i] : [i, anchor];
        for (let k = from; k <= to; k++) picks[k]!.checked = pick.checked;
      }
      anchor = i;
      refresh();
    });
  }
  $('select-all')?.addEventListener('click', () => {
    for (const p of picks) p.checked = true;
    refresh();
  });
  $('clear-selection')?.addEventListener('click', () => {
    for (const p of picks) p.checked = false;
    anchor = null;
    refresh();
  });
  share.addEventListener('click', () => openCreateLink(selected()));
  $('sign-out')?.addEventListener('click', async () => {
    await api('POST', '/api/auth/logout').catch(() => undefined);
    location.assign('/');
  });
  // thumbnails replace their placeholders once loaded
  for (const img of document.querySelectorAll<HTMLImageElement>('img[data-placeholder]')) {
    const done = () => img.closest('label')?.classList.add('loaded');
    if (img.complete && img.naturalWidth > 0) done();
    else img.addEventListener('load', done, { once: true });
  }
  initCreateLink();
  refresh();
}

// ── Create Shared Link ────────────────────────────────────────────────────────────────────────────────

const SLUG = /^[A-Za-z0-9_-]{3,40}$/;
const MINUTE = 60_000;
const EXPIRY_MS: Record<string, number | null> = {
  never: null,
  m30: 30 * MINUTE,
  h1: 60 * MINUTE,
  h6: 6 * 60 * MINUTE,
  d1: 24 * 60 * MINUTE,
  d7: 7 * 24 * 60 * MINUTE,
  d30: 30 * 24 * 60 * MINUTE,
};

/** The chosen expiry as an instant; months and years by the calendar, not a fixed number of days. */
function expiresAt(choice: string): string | null {
  if (choice === 'mo3' || choice === 'y1') {
    const d = new Date();
    if (choice === 'mo3') d.setMonth(d.getMonth() + 3);
    else d.setFullYear(d.getFullYear() + 1);
    return d.toISOString();
  }
  const ms = EXPIRY_MS[choice];
  return ms == null ? null : new Date(Date.now() + ms).toISOString();
}

let currentAssets: string[] = [];
let slugOk = true;

function openCreateLink(assetIds: string[]): void {
  currentAssets = assetIds;
  const dialog = $<HTMLDialogElement>('create-link')!;
  const form = $<HTMLFormElement>('create-link-form')!;
  form.reset();
  form.hidden = false;
  $('cl-result')!.hidden = true;
  $('cl-error')!.textContent = '';
  $('cl-slug-status')!.textContent = '';
  slugOk = true;
  $('create-link-target')!.textContent = t.createLink.forSelection(assetIds.length);
  dialog.showModal();
  $<HTMLInputElement>('cl-description')!.focus();
}

function drawQr(container: HTMLElement, text: string): void {
  const qr = encode(text, { ecc: 'M', border: 4 });
  const n = qr.size;
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
  let d = '';
  qr.data.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) d += `M${x} ${y}h1v1h-1z`;
    });
  });
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
    if (value === '') {
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
    const body = {
      type: 'INDIVIDUAL',
      assetIds: currentAssets,
      description: v('cl-description').value || null,
      expiresAt: expiresAt($<HTMLSelectElement>('cl-expires')!.value),
      allowDownload: v('cl-allow-download').checked,
      allowUpload: false,
      showMetadata: v('cl-show-metadata').checked,
      password: v('cl-password').value || null,
      slug: slug.value.trim() || null,
    };
    const res = await api('POST', '/api/shared-links', body);
    if (res.status !== 201) {
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

// ──────────────────────────────────────────────────────────────────────────────────────────────────────

const login = $<HTMLFormElement>('login-form');
if (login) initLogin(login);
if (document.body.classList.contains('page-library')) initLibrary();
document.body.dataset.ready = 'true';
