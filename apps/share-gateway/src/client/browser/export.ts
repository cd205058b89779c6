/// <reference lib="dom" />
import { byId, errorMessage, formatBytes, sleep } from './dom.ts';
import { t } from './i18n.ts';

/**
 * Archives through the export worker (docs/spec.md §5.3 "Download all / selected"): `POST /share/:key/exports`
 * with every asset or a selection (`assetIds`), progress polled into the page's one download status, then the
 * browser goes to the first part's `downloadUrl` and the others are listed.
 */

interface ExportPart {
  index: number;
  fileName: string;
  size: number;
  downloadUrl?: string;
}

interface ExportDto {
  id: string;
  status: 'queued' | 'running' | 'ready' | 'failed' | 'expired';
  progress: { bytesDone: number; bytesTotal: number };
  parts: ExportPart[];
  error?: string;
}

export interface Exporter {
  /** Builds and downloads an archive; resolves when it started downloading or failed (shown in the status). */
  run(body: { assetIds?: string[]; exceptAssetIds?: string[] }): Promise<void>;
  busy(): boolean;
}

/** The page's exporter, or null when the link offers no downloads (no status element rendered). */
export function createExporter(): Exporter | null {
  const status = byId('download-status');
  const label = byId('download-label');
  const progress = byId<HTMLProgressElement>('download-progress');
  const partsList = byId('download-parts');
  const url = byId('download-all')?.dataset.exportUrl;
  if (!status || !label || !progress || !partsList || !url) return null;
  let running = false;

  const say = (text: string) => {
    label.textContent = text;
  };

  function showProgress(dto: ExportDto) {
    const { bytesDone, bytesTotal } = dto.progress;
    if (bytesTotal > 0) {
      progress!.max = bytesTotal;
      progress!.value = Math.min(bytesDone, bytesTotal);
      const pct = Math.floor((100 * bytesDone) / bytesTotal);
      say(t('preparingProgress', { pct, done: formatBytes(bytesDone), total: formatBytes(bytesTotal) }));
    } else {
      progress!.removeAttribute('value');
      say(dto.status === 'queued' ? t('waitingArchive') : t('preparing'));
    }
  }

  async function run(body: { assetIds?: string[]; exceptAssetIds?: string[] }) {
    running = true;
    status!.hidden = false;
    status!.classList.remove('error');
    partsList!.replaceChildren();
    progress!.hidden = false;
    progress!.removeAttribute('value');
    say(t('preparing'));
    try {
      const res = await fetch(url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        credentials: 'same-origin',
      });
      if (!res.ok) throw new Error(await errorMessage(res));
      let dto = (await res.json()) as ExportDto;
      while (dto.status === 'queued' || dto.status === 'running') {
        showProgress(dto);
        await sleep(1000);
        const poll = await fetch(`${url}/${encodeURIComponent(dto.id)}`, {
          headers: { accept: 'application/json' },
          credentials: 'same-origin',
        });
        if (!poll.ok) throw new Error(await errorMessage(poll));
        dto = (await poll.json()) as ExportDto;
      }
      if (dto.status !== 'ready') throw new Error(dto.error || `The archive could not be prepared (${dto.status})`);
      const parts = dto.parts.filter((p): p is ExportPart & { downloadUrl: string } => !!p.downloadUrl);
      if (parts.length === 0) throw new Error(t('archiveEmpty'));
      progress!.max = 1;
      progress!.value = 1;
      for (const part of parts) {
        const li = document.createElement('li');
        const a = document.createElement('a');
        a.href = part.downloadUrl;
        a.textContent = `${part.fileName} (${formatBytes(part.size)})`;
        li.append(a);
        partsList!.append(li);
      }
      say(parts.length === 1 ? t('downloadStarting') : t('downloadParts', { n: parts.length }));
      location.assign(parts[0]!.downloadUrl);
    } catch (e) {
      status!.classList.add('error');
      progress!.hidden = true;
      say(t('downloadFailed', { error: (e as Error).message }));
    } finally {
      running = false;
    }
  }

  return { run, busy: () => running };
}

/** "Download all": the whole link in one archive. */
export function initDownloadAll(exporter: Exporter | null): void {
  const button = byId<HTMLButtonElement>('download-all');
  if (!button || !exporter) return;
  button.hidden = false;
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await exporter.run({});
    } finally {
      button.disabled = false;
    }
  });
}
