/// <reference lib="dom" />
import { byId, errorMessage, formatBytes } from './dom.ts';
import type { Exporter } from './export.ts';
import { t } from './i18n.ts';
import { exportBody, type Selection, type SelectionState } from './selection.ts';

/**
 * "Share…" of a selection on a recipient's page (issues 15 §1 and 21 §2), on links that allow downloads. Where the
 * browser can share files, the files themselves are fetched (with progress) and handed to the system share sheet
 * with `navigator.share({files})`: the originals from `/share/:key/assets/:id/original`, which on a link that hides
 * metadata are the stripped originals with an anonymous name (routes/media.ts; the preview for what cannot be
 * stripped). Otherwise the panel offers: download (one file directly, several as one archive through the export
 * worker), copy this page's address (a recipient cannot make links) and email (`mailto:` with that address).
 * Nothing stays behind: object URLs are revoked and the fetched files dropped once handed over.
 */

interface SheetItem {
  id: string;
  download: 'original' | 'preview' | null;
}

export interface ShareSheetData {
  base: string;
  items: SheetItem[];
}

/** Above this many files the share sheet is not offered the files themselves (memory on a phone): the panel opens. */
const MAX_SHARED_FILES = 50;

/** The file name of a response's Content-Disposition (RFC 6266: `filename*` first), or null. */
export function dispositionFileName(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (star?.[2]) {
    try {
      return decodeURIComponent(star[2].trim());
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;]+)/i.exec(header);
  const name = plain?.[1] ?? plain?.[2];
  return name ? name.replace(/\\(.)/g, '$1').trim() : null;
}

/** Fetches one file, reporting bytes as they arrive. */
async function fetchFile(url: string, fallbackName: string, onBytes: (n: number) => void): Promise<File> {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(await errorMessage(res));
  const type = res.headers.get('content-type')?.split(';')[0]?.trim() || 'application/octet-stream';
  const name = dispositionFileName(res.headers.get('content-disposition')) ?? fallbackName;
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  const reader = res.body?.getReader();
  if (!reader) {
    const blob = await res.blob();
    onBytes(blob.size);
    return new File([blob], name, { type });
  }
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value as Uint8Array<ArrayBuffer>);
    onBytes(value.byteLength);
  }
  return new File(chunks, name, { type });
}

/** Can this browser hand files to the system share sheet at all? */
function canShareFiles(): boolean {
  if (typeof navigator.share !== 'function' || typeof navigator.canShare !== 'function') return false;
  try {
    return navigator.canShare({ files: [new File([''], 'probe.jpg', { type: 'image/jpeg' })] });
  } catch {
    return false;
  }
}

export function initShareSheet(data: ShareSheetData, selection: Selection | null, exporter: Exporter | null): void {
  const button = byId<HTMLButtonElement>('share-selected');
  const sheet = byId('share-sheet');
  const status = byId('share-sheet-status');
  const progress = byId<HTMLProgressElement>('share-sheet-progress');
  const options = byId('share-sheet-options');
  const download = byId<HTMLButtonElement>('share-download');
  const copy = byId<HTMLButtonElement>('share-copy');
  const email = byId<HTMLAnchorElement>('share-email');
  const close = byId<HTMLButtonElement>('share-close');
  if (!button || !sheet || !status || !progress || !options || !download || !copy || !email || !close) return;
  if (!selection || !exporter) return;
  button.hidden = false;
  let busy = false;
  const pageUrl = new URL(data.base, location.href).href;
  const title = document.querySelector('h1')?.textContent?.trim() ?? '';
  email.href = `mailto:?subject=${encodeURIComponent(title)}&body=${encodeURIComponent(pageUrl)}`;

  const sync = (s: SelectionState) => {
    button.disabled = s.count === 0 || busy;
  };
  selection.onChange(sync);
  sync(selection.state());

  const say = (text: string) => {
    status.textContent = text;
  };
  const open = () => {
    sheet.hidden = false;
    options.hidden = true;
    progress.hidden = true;
    say('');
  };
  const hide = () => {
    sheet.hidden = true;
    button.focus();
  };
  const showOptions = () => {
    progress.hidden = true;
    options.hidden = false;
    download.focus();
  };

  /** The selected items this page knows (a "Select all" may include items not loaded: those are not fetched). */
  const chosen = (s: SelectionState): SheetItem[] => {
    const ids = new Set(s.ids);
    return data.items.filter((i) => i.download !== null && ids.has(i.id));
  };

  async function fetchAll(items: SheetItem[]): Promise<File[]> {
    const files: File[] = [];
    let bytes = 0;
    progress!.hidden = false;
    progress!.max = items.length;
    progress!.value = 0;
    for (const [n, item] of items.entries()) {
      say(`${t('shareFetching', { i: n + 1, n: items.length })} ${formatBytes(bytes)}`);
      const file = await fetchFile(`${data.base}/assets/${item.id}/${item.download}`, item.id, (more) => {
        bytes += more;
        say(`${t('shareFetching', { i: n + 1, n: items.length })} ${formatBytes(bytes)}`);
      });
      files.push(file);
      progress!.value = n + 1;
    }
    return files;
  }

  button.addEventListener('click', async () => {
    const s = selection.state();
    if (busy || s.count === 0) return;
    open();
    const items = s.all ? [] : chosen(s);
    if (!canShareFiles() || items.length === 0 || items.length > MAX_SHARED_FILES) return showOptions();
    busy = true;
    sync(s);
    let files: File[] = [];
    try {
      files = await fetchAll(items);
      if (!navigator.canShare({ files })) return showOptions();
      await navigator.share({ files, title });
      hide();
    } catch (e) {
      // the user closing the system sheet is not an error; anything else leaves the other ways open
      if ((e as DOMException).name !== 'AbortError') say(t('shareFailed', { error: (e as Error).message }));
      showOptions();
    } finally {
      files = []; // the bytes are the browser's to free now
      busy = false;
      sync(selection.state());
    }
  });

  download.addEventListener('click', async () => {
    const s = selection.state();
    const items = s.all ? [] : chosen(s);
    if (items.length === 1) {
      // one file: directly, under its own name (fetched with progress, then released)
      const [item] = items as [SheetItem];
      busy = true;
      try {
        const [file] = (await fetchAll([item])) as [File];
        const url = URL.createObjectURL(file);
        const a = document.createElement('a');
        a.href = url;
        a.download = file.name;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 0);
        hide();
      } catch (e) {
        say(t('downloadFailed', { error: (e as Error).message }));
      } finally {
        busy = false;
      }
      return;
    }
    // several: one archive through the export worker, its progress in the page's download status
    hide();
    await exporter.run(exportBody(s));
  });

  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(pageUrl);
      say(t('linkCopied'));
    } catch {
      // no clipboard permission: the address, selected, for the user to copy
      say(pageUrl);
    }
  });

  close.addEventListener('click', hide);
  // Esc closes the panel first (before the selection's own Esc clears the selection)
  window.addEventListener(
    'keydown',
    (e) => {
      if (e.key !== 'Escape' || sheet.hidden) return;
      e.stopImmediatePropagation();
      hide();
    },
    { capture: true },
  );
}
