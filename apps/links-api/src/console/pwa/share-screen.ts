/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { clearShared, takeShared } from './inbox.ts';
import { shareEn as t } from './strings.en.ts';

/**
 * The "Upload to immish" screen (issue 15, the seed's share intent): the files a phone shared (kept by the
 * service worker in the inbox cache) or picked/dropped here, previewed ("HEIC and video by name and icon" when
 * the browser cannot render them), "N photos ready to upload", an optional album (or a new one), then one upload
 * batch (POST /api/upload-batches) with per-file progress and each file's final status, and Back.
 */

interface BatchItem {
  fileName: string;
  status: string;
  error?: string;
}
interface Batch {
  id: string;
  status: string;
  items: BatchItem[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const urls: string[] = [];
let files: File[] = [];

function canPreview(f: File): boolean {
  return /^image\/(jpeg|png|gif|webp|avif|bmp)$/.test(f.type);
}

function render(): void {
  const list = $('share-previews');
  for (const u of urls.splice(0)) URL.revokeObjectURL(u);
  list.replaceChildren(
    ...files.map((f) => {
      const li = document.createElement('li');
      if (canPreview(f)) {
        const img = document.createElement('img');
        const url = URL.createObjectURL(f);
        urls.push(url);
        img.src = url;
        img.alt = f.name;
        li.append(img);
      } else {
        const icon = document.createElement('span');
        icon.className = 'share-icon';
        icon.setAttribute('aria-label', t.noPreview);
        icon.textContent = f.type.startsWith('video/') ? '▶' : '🖼';
        li.append(icon);
      }
      const name = document.createElement('span');
      name.className = 'share-name';
      name.textContent = f.name;
      li.append(name);
      return li;
    }),
  );
  $('share-count').textContent = files.length ? t.ready(files.length) : t.nothing;
  $<HTMLButtonElement>('share-upload').disabled = files.length === 0;
  // one primary action at a time: choosing files while there are none, then Upload
  $('share-pick').classList.toggle('secondary', files.length > 0);
}

async function albumId(): Promise<string | null> {
  const select = $<HTMLSelectElement>('share-album');
  if (select.value === '') return null;
  if (select.value !== 'new') return select.value;
  const name = $<HTMLInputElement>('share-new-album-name').value.trim() || t.newAlbum.replace('…', '');
  const res = await fetch('/api/albums', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ albumName: name }),
  });
  if (!res.ok) throw new Error(t.uploadFailed(res.status));
  return ((await res.json()) as { id: string }).id;
}

function send(form: FormData, onProgress: (fraction: number) => void): Promise<Batch | number> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/upload-batches');
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => resolve(xhr.status === 202 ? (xhr.response as Batch) : xhr.status));
    xhr.addEventListener('error', () => resolve(0));
    xhr.send(form);
  });
}

async function upload(): Promise<void> {
  const button = $<HTMLButtonElement>('share-upload');
  const error = $('share-error');
  button.disabled = true;
  error.textContent = '';
  const rows = files.map((f) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'upload-name';
    name.textContent = f.name;
    const progress = document.createElement('progress');
    progress.max = 1;
    progress.value = 0;
    progress.setAttribute('aria-label', t.progressOf(f.name));
    const state = document.createElement('span');
    state.className = 'upload-state';
    state.textContent = t.state.waiting;
    li.append(name, progress, state);
    return { li, progress, state };
  });
  $('share-progress').replaceChildren(...rows.map((r) => r.li));
  let id: string | null;
  try {
    id = await albumId();
  } catch (e) {
    error.textContent = (e as Error).message;
    button.disabled = false;
    return;
  }
  const form = new FormData();
  if (id) form.append('albumId', id);
  for (const f of files) form.append('files', f, f.name);
  // one request for the batch: each file's bar follows the bytes sent within its own part
  const ends: number[] = [];
  let total = 0;
  for (const f of files) {
    total += f.size;
    ends.push(total);
  }
  const result = await send(form, (fraction) => {
    const scaled = total * fraction;
    rows.forEach((r, i) => {
      const start = ends[i]! - files[i]!.size;
      r.progress.value = files[i]!.size ? Math.min(1, Math.max(0, (scaled - start) / files[i]!.size)) : 1;
      r.state.textContent = r.progress.value >= 1 ? t.state.processing : t.state.sending;
    });
  });
  if (typeof result === 'number') {
    error.textContent = t.uploadFailed(result);
    button.disabled = false;
    return;
  }
  for (const r of rows) r.progress.value = 1;
  let batch = result;
  for (;;) {
    batch.items.forEach((item, i) => {
      const row = rows[i];
      if (!row) return;
      row.state.textContent =
        item.status === 'failed' && item.error
          ? t.failedBecause(item.error)
          : ((t.state as Record<string, string>)[item.status] ?? item.status);
      row.li.dataset.status = item.status;
    });
    if (batch.status === 'completed') break;
    await new Promise((r) => setTimeout(r, 500));
    const res = await fetch(`/api/upload-batches/${batch.id}`, { credentials: 'same-origin' }).catch(() => null);
    if (res?.ok) batch = (await res.json()) as Batch;
  }
  await clearShared();
  const ok = batch.items.filter((i) => i.status === 'ready' || i.status === 'duplicate').length;
  $('share-count').textContent = t.done(ok, batch.items.length);
  $('share-actions').hidden = true;
  $('share-back').hidden = false;
}

async function signIn(form: HTMLFormElement): Promise<void> {
  const data = new FormData(form);
  const res = await fetch('/api/auth/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: data.get('email'), password: data.get('password') }),
  }).catch(() => null);
  if (res?.status === 201) location.reload();
  else $('share-login-error').textContent = res?.status === 429 ? t.tooManyAttempts : t.signInFailed;
}

async function init(): Promise<void> {
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  const login = document.getElementById('share-login') as HTMLFormElement | null;
  if (login) {
    login.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void signIn(login);
    });
    files = await takeShared();
    $('share-waiting').textContent = files.length ? t.ready(files.length) : '';
    document.body.dataset.ready = 'true';
    return;
  }
  files = await takeShared();
  render();
  const select = $<HTMLSelectElement>('share-album');
  select.addEventListener('change', () => {
    $('share-new-album').hidden = select.value !== 'new';
  });
  const picker = $<HTMLInputElement>('share-files');
  picker.addEventListener('change', () => {
    files = [...files, ...(picker.files ?? [])];
    render();
  });
  $('share-pick').addEventListener('click', () => picker.click());
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    files = [...files, ...(e.dataTransfer?.files ?? [])];
    render();
  });
  $('share-cancel').addEventListener('click', async () => {
    await clearShared();
    files = [];
    render();
    location.assign('/');
  });
  $('share-upload').addEventListener('click', () => void upload());
  $('share-back').addEventListener('click', () => {
    // back to the app that shared (a share opens the PWA on top of it), else to the library
    if (history.length > 1) history.back();
    else location.assign('/');
  });
  document.body.dataset.ready = 'true';
}

void init();
