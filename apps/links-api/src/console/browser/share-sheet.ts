/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { shareSheetEn as t } from '../pwa/strings.en.ts';

/**
 * The library's "Share files…" (issue 15 item 1, the seed's "Share via"): the selected photos' originals handed to the
 * system share sheet with `navigator.share({ files })` where the browser shares files, fetched first with
 * progress; otherwise a dialog: download (one file directly, several as one zip made by the export worker),
 * copy a new link, or email one. Nothing stays behind: the fetched bytes are dropped after the share, every
 * object URL is revoked, and a link is made only when the owner picks "Copy" or "Email".
 */

function fileNameOf(res: Response, fallback: string): string {
  const cd = res.headers.get('content-disposition') ?? '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star?.[1]) return decodeURIComponent(star[1]);
  const plain = /filename="([^"]+)"/i.exec(cd);
  return plain?.[1] ?? fallback;
}

/** One original, read as a stream so that the status line can count bytes. */
async function fetchOriginal(id: string, onBytes: (n: number) => void): Promise<File> {
  const res = await fetch(`/api/assets/${id}/original`, { credentials: 'same-origin' });
  if (!res.ok || !res.body) throw new Error(String(res.status));
  const chunks: Uint8Array[] = [];
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    onBytes(value.byteLength);
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0] ?? '';
  return new File(chunks as BlobPart[], fileNameOf(res, id), { type });
}

function canShareFiles(): boolean {
  if (typeof navigator.share !== 'function' || typeof navigator.canShare !== 'function') return false;
  try {
    return navigator.canShare({ files: [new File([''], 'probe.jpg', { type: 'image/jpeg' })] });
  } catch {
    return false;
  }
}

async function newLinkUrl(assetIds: string[]): Promise<string | null> {
  const res = await fetch('/api/shared-links', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'INDIVIDUAL', assetIds, allowDownload: true, showMetadata: true }),
  }).catch(() => null);
  return res?.ok ? ((await res.json()) as { url: string }).url : null;
}

/** Clicks a temporary link to download `href` (same origin, sent with the session cookie). */
function download(href: string, name: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
}

/** Opens the mail app on a `mailto:` URL (a clicked link, as a user's own click would). */
function openMail(href: string): void {
  const a = document.createElement('a');
  a.href = href;
  document.body.append(a);
  a.click();
  a.remove();
}

async function downloadZip(assetIds: string[], status: HTMLElement): Promise<void> {
  const res = await fetch('/api/exports', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ assetIds }),
  }).catch(() => null);
  if (!res?.ok) {
    status.textContent = t.failed;
    return;
  }
  type Export = {
    id: string;
    status: string;
    progress: { bytesDone: number; bytesTotal: number };
    parts: { fileName: string; downloadUrl?: string }[];
  };
  let job = (await res.json()) as Export;
  while (job.status === 'queued' || job.status === 'running') {
    const { bytesDone, bytesTotal } = job.progress;
    status.textContent = t.zipping(bytesTotal ? Math.floor((100 * bytesDone) / bytesTotal) : 0);
    await new Promise((r) => setTimeout(r, 500));
    const next = await fetch(`/api/exports/${job.id}`, { credentials: 'same-origin' }).catch(() => null);
    if (next?.ok) job = (await next.json()) as Export;
  }
  if (job.status !== 'ready') {
    status.textContent = t.failed;
    return;
  }
  status.textContent = '';
  for (const part of job.parts) if (part.downloadUrl) download(part.downloadUrl, part.fileName);
}

function fallbackDialog(assetIds: string[]): void {
  const dialog = document.createElement('dialog');
  dialog.id = 'share-sheet';
  dialog.setAttribute('aria-labelledby', 'share-sheet-title');
  const title = document.createElement('h2');
  title.id = 'share-sheet-title';
  title.textContent = t.dialogTitle;
  const status = document.createElement('p');
  status.id = 'share-sheet-status';
  status.setAttribute('role', 'status');
  const button = (label: string, onClick: () => void) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.addEventListener('click', onClick);
    return b;
  };
  const one = assetIds.length === 1;
  // a sheet: the three ways, one per row and as wide as the sheet; Close the one secondary button below them
  const options = document.createElement('div');
  options.className = 'sheet-options';
  options.append(
    button(one ? t.download : t.downloadZip(assetIds.length), () => {
      if (one) download(`/api/assets/${assetIds[0]}/original`, '');
      else void downloadZip(assetIds, status);
    }),
    button(t.copyLink, async () => {
      const url = await newLinkUrl(assetIds);
      if (!url) status.textContent = t.failed;
      else {
        await navigator.clipboard.writeText(url).catch(() => undefined);
        status.textContent = t.copied;
      }
    }),
    button(t.email, async () => {
      const url = await newLinkUrl(assetIds);
      if (!url) status.textContent = t.failed;
      else openMail(`mailto:?subject=${encodeURIComponent(t.emailSubject)}&body=${encodeURIComponent(url)}`);
    }),
  );
  const close = button(t.close, () => dialog.close());
  close.className = 'secondary';
  const actions = document.createElement('div');
  actions.className = 'actions';
  actions.append(close);
  dialog.append(title, options, status, actions);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

/** Adds "Share files…" after the selection bar's own button; `selected` gives the selected asset ids. */
export function initShareSheet(after: HTMLElement, selected: () => string[], status: HTMLElement): void {
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'share-sheet-button';
  button.textContent = t.button;
  button.disabled = selected().length === 0; // like the selection bar's own button; the library's refresh keeps it so
  after.insertAdjacentElement('afterend', button);
  button.addEventListener('click', async () => {
    const ids = selected();
    if (ids.length === 0) return;
    if (!canShareFiles()) {
      fallbackDialog(ids);
      return;
    }
    button.disabled = true;
    button.dataset.busy = 'true';
    let files: File[] = [];
    try {
      let done = 0;
      status.textContent = t.fetching(0, ids.length);
      for (const id of ids) {
        files.push(await fetchOriginal(id, () => undefined));
        status.textContent = t.fetching(++done, ids.length);
      }
      await navigator.share({ files }).catch(() => undefined);
      status.textContent = '';
    } catch {
      status.textContent = t.failed;
    } finally {
      files = []; // the only references: the bytes go with them
      delete button.dataset.busy;
      button.disabled = selected().length === 0;
    }
  });
}
