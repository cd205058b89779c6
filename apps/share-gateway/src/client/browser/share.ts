/// <reference lib="dom" />
/// <reference lib="dom.iterable" />

/**
 * The share page's client bundle (docs/spec.md §5.4). The page works without it (links for everything a viewer
 * needs); this adds: the in-page viewer with ←/→/Esc, "Download all" with progress, uploads with
 * drag-and-drop and per-file progress. Data comes from the page's `#share-data` JSON block; every text goes
 * into the DOM through `textContent`, never as markup.
 */

import { byId } from './dom.ts';
import { createExporter, initDownloadAll } from './export.ts';
import { attachGestures, type Gestures } from './gestures.ts';
import { itemLabel, plural, setStrings, t } from './i18n.ts';
import { initVirtualGrid, type VirtualGrid } from './layout.ts';
import { initSelection } from './selection.ts';
import { initShareSheet } from './share-sheet.ts';

interface ShareItem {
  id: string;
  type: 'IMAGE' | 'VIDEO' | 'OTHER';
  width: number | null;
  height: number | null;
  duration: string | null;
  hasThumbnail: boolean;
  placeholder: string | null;
  download: 'original' | 'preview' | null;
  playable: boolean;
  livePhoto: boolean;
  zoomOriginal: boolean;
  meta: { fileName: string; fields: [string, string][] } | null;
  day: string | null;
}

interface ShareData {
  base: string;
  total: number;
  page: number;
  pageCount: number;
  pageSize: number;
  order: 'asc' | 'desc' | null;
  group: 'day' | 'month' | null;
  groupLabels: Record<string, string>;
  /** `?order=…&group=…` (or empty): what every photo and grid link carries on */
  photoQuery?: string;
  firstIndex: number;
  before: string | null;
  after: string | null;
  allowDownload: boolean;
  allowUpload: boolean;
  showMetadata: boolean;
  items: ShareItem[];
  locale?: string;
  strings?: Record<string, string>;
}

function readData(): ShareData | null {
  const el = byId('share-data');
  if (!el?.textContent) return null;
  try {
    return JSON.parse(el.textContent) as ShareData;
  } catch {
    return null;
  }
}

const typing = (e: KeyboardEvent) => {
  const t = e.target as HTMLElement | null;
  return !!t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
};

const plainClick = (e: MouseEvent) => e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey && !e.altKey;

const viewQuery = (data: ShareData) =>
  [data.order ? `order=${data.order}` : '', data.group ? `group=${data.group}` : ''].filter(Boolean);
/** a photo page, with the recipient's order (its previous/next follow it) and grouping */
const photoUrl = (data: ShareData, id: string) => `${data.base}/photos/${id}${data.photoQuery ?? ''}`;
const mediaUrl = (data: ShareData, id: string, kind: 'thumbnail' | 'preview' | 'original' | 'video') =>
  `${data.base}/assets/${id}/${kind}`;
const gridUrl = (data: ShareData) => {
  const query = [data.page > 1 ? `page=${data.page}` : '', ...viewQuery(data)];
  return query.length ? `${data.base}?${query.join('&')}` : data.base;
};

/**
 * A Live Photo: the still shows; pressing or hovering it plays its motion (muted, inline) over it, and letting go
 * shows the still again, as Photos does. The motion is fetched only when first asked for.
 */
function attachLiveMotion(img: HTMLImageElement): void {
  const src = img.dataset.live;
  if (!src) return;
  const badge = document.createElement('span');
  badge.className = 'live-badge';
  badge.textContent = 'LIVE';
  badge.setAttribute('aria-hidden', 'true');
  const motion = document.createElement('video');
  motion.className = 'live-motion';
  motion.muted = true;
  motion.playsInline = true;
  motion.preload = 'none';
  motion.hidden = true;
  motion.setAttribute('aria-hidden', 'true');
  img.after(badge, motion);
  const play = () => {
    if (!motion.src) motion.src = src;
    motion.currentTime = 0;
    motion.hidden = false;
    motion.play().catch(() => {
      motion.hidden = true;
    });
  };
  const stop = () => {
    motion.pause();
    motion.hidden = true;
  };
  motion.addEventListener('ended', stop);
  img.addEventListener('pointerenter', play);
  img.addEventListener('pointerdown', play);
  img.addEventListener('pointerleave', stop);
  img.addEventListener('pointerup', (e) => {
    if (e.pointerType !== 'mouse') stop();
  });
  // the previous item's badge and motion go with it
  const observer = new MutationObserver(() => {
    if (!img.isConnected) {
      badge.remove();
      motion.remove();
      observer.disconnect();
    }
  });
  if (img.parentElement) observer.observe(img.parentElement, { childList: true });
}

/** Zoomed in: the larger image replaces the preview once it has loaded (the zoom stays where it is). */
function loadLarger(img: HTMLImageElement, src: string): void {
  if (img.dataset.full) return;
  img.dataset.full = 'loading';
  const big = new Image();
  big.addEventListener('load', () => {
    if (!img.isConnected) return;
    img.src = src;
    img.dataset.full = 'true';
  });
  big.src = src;
}

// ── viewer on the grid page ─────────────────────────────────────────────────────────────────────────

function initGridViewer(
  data: ShareData,
  virtualGrid: VirtualGrid | null,
  loadMore: (() => Promise<boolean>) | null,
): void {
  const viewer = byId('viewer');
  const grid = byId('grid');
  if (!viewer || !grid || data.items.length === 0) return;
  const position = byId('viewer-position');
  const prev = byId<HTMLAnchorElement>('viewer-prev');
  const next = byId<HTMLAnchorElement>('viewer-next');
  const close = byId<HTMLAnchorElement>('viewer-close');
  const download = byId<HTMLAnchorElement>('viewer-download');
  const metaTitle = byId('viewer-meta-title');
  const metaFields = byId('viewer-meta-fields');

  let current = -1;
  let pushed = false;
  let opener: HTMLElement | null = null;

  const neighbour = (i: number): string | null => {
    if (i < 0) return data.before;
    if (i >= data.items.length) return data.after;
    return data.items[i]?.id ?? null;
  };

  function setNav(a: HTMLAnchorElement | null, id: string | null) {
    if (!a) return;
    a.hidden = id === null;
    if (id) a.href = photoUrl(data, id);
  }

  function setMedia(item: ShareItem, label: string) {
    const old = byId('viewer-media');
    if (!old) return;
    let media: HTMLImageElement | HTMLVideoElement;
    if (item.playable) {
      const video = document.createElement('video');
      video.controls = true;
      video.preload = 'metadata';
      video.playsInline = true;
      if (!data.allowDownload) video.setAttribute('controlslist', 'nodownload');
      video.poster = mediaUrl(data, item.id, 'preview');
      video.src = mediaUrl(data, item.id, 'video');
      video.setAttribute('aria-label', label);
      media = video;
    } else {
      const img = document.createElement('img');
      img.alt = label;
      if (item.width && item.height) {
        img.width = item.width;
        img.height = item.height;
      }
      img.classList.add('loading');
      img.addEventListener('load', () => img.classList.remove('loading'), { once: true });
      img.addEventListener('error', () => img.classList.remove('loading'), { once: true });
      img.src = mediaUrl(data, item.id, 'preview');
      if (item.livePhoto) {
        img.dataset.live = mediaUrl(data, item.id, 'video');
        img.alt = `${label} (${t('livePhoto')})`;
      }
      media = img;
    }
    media.id = 'viewer-media';
    media.className = `viewer-media${media instanceof HTMLImageElement ? ' loading' : ''}`;
    old.replaceWith(media);
    if (media instanceof HTMLImageElement) attachLiveMotion(media);
  }

  let gestures: Gestures | null = null;

  function render(i: number) {
    const item = data.items[i];
    if (!item) return;
    current = i;
    gestures?.reset();
    const absolute = data.firstIndex + i + 1;
    const label = itemLabel(item.type, absolute, data.total);
    setMedia(item, label);
    if (position) position.textContent = `${absolute} / ${data.total}`;
    setNav(prev, neighbour(i - 1));
    setNav(next, neighbour(i + 1));
    if (close) close.href = `${gridUrl(data)}#a-${item.id}`;
    if (download) {
      download.hidden = item.download === null;
      if (item.download) {
        download.href = mediaUrl(data, item.id, item.download);
        download.textContent = item.download === 'preview' ? t('downloadPreview') : t('download');
      }
    }
    if (metaTitle && metaFields) {
      metaTitle.textContent = item.meta?.fileName ?? '';
      metaFields.replaceChildren();
      for (const [k, v] of item.meta?.fields ?? []) {
        const dt = document.createElement('dt');
        dt.textContent = k;
        const dd = document.createElement('dd');
        dd.textContent = v;
        metaFields.append(dt, dd);
      }
    }
    // warm the neighbours so arrow keys feel instant
    for (const j of [i + 1, i - 1]) {
      const n = data.items[j];
      if (n && !n.playable) new Image().src = mediaUrl(data, n.id, 'preview');
    }
  }

  /** What lies behind the open viewer: inert, so Tab and screen readers stay in the dialog. */
  const background = () =>
    [...document.body.children].filter(
      (el): el is HTMLElement => el instanceof HTMLElement && el !== viewer && el.tagName !== 'SCRIPT',
    );

  function show() {
    viewer!.hidden = false;
    document.body.classList.add('viewer-open');
    for (const el of background()) el.inert = true;
  }

  function hide() {
    viewer!.hidden = true;
    document.body.classList.remove('viewer-open');
    for (const el of background()) el.inert = false;
    const media = byId('viewer-media');
    if (media instanceof HTMLVideoElement) media.pause();
    const id = data.items[current]?.id;
    const tile =
      virtualGrid?.reveal(current) ?? (id ? document.querySelector<HTMLElement>(`#a-${CSS.escape(id)} a`) : null);
    (tile ?? opener)?.focus();
    current = -1;
  }

  function open(i: number) {
    const item = data.items[i];
    if (!item) return;
    const wasOpen = !viewer!.hidden;
    render(i);
    const state = { viewerIndex: i };
    if (wasOpen) history.replaceState(state, '', photoUrl(data, item.id));
    else {
      history.pushState(state, '', photoUrl(data, item.id));
      pushed = true;
      show();
      close?.focus();
    }
  }

  /** Moves by one; past the edge of this page, the next page's photo page takes over (a normal navigation). */
  function step(delta: number) {
    if (current < 0) return;
    const target = current + delta;
    if (target >= 0 && target < data.items.length) return open(target);
    const id = neighbour(target);
    if (id) location.assign(photoUrl(data, id));
  }

  function closeViewer() {
    if (viewer!.hidden) return;
    if (pushed)
      history.back(); // popstate hides it, and the URL is the grid's again
    else {
      history.replaceState(null, '', gridUrl(data));
      hide();
    }
  }

  grid.addEventListener('click', (e) => {
    const a = (e.target as Element).closest<HTMLAnchorElement>('a[data-index]');
    if (!a || !plainClick(e)) return;
    e.preventDefault();
    opener = a;
    open(Number(a.dataset.index));
  });
  prev?.addEventListener('click', (e) => {
    if (!plainClick(e)) return;
    e.preventDefault();
    step(-1);
  });
  next?.addEventListener('click', (e) => {
    if (!plainClick(e)) return;
    e.preventDefault();
    step(1);
  });
  close?.addEventListener('click', (e) => {
    if (!plainClick(e)) return;
    e.preventDefault();
    closeViewer();
  });
  document.addEventListener('keydown', (e) => {
    if (viewer.hidden || typing(e) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'ArrowLeft') step(-1);
    else if (e.key === 'ArrowRight') step(1);
    else if (e.key === 'Escape') closeViewer();
    else return;
    e.preventDefault();
  });
  window.addEventListener('popstate', (e) => {
    const i = (e.state as { viewerIndex?: unknown } | null)?.viewerIndex;
    if (typeof i === 'number' && data.items[i]) {
      render(i);
      show();
      pushed = false;
    } else if (!viewer.hidden) {
      pushed = false;
      hide();
    }
  });
  const stage = viewer.querySelector<HTMLElement>('.viewer-stage');
  if (stage) {
    gestures = attachGestures(stage, {
      media: () => byId('viewer-media'),
      next: () => step(1),
      prev: () => step(-1),
      close: closeViewer,
      zoomed: () => {
        const item = data.items[current];
        const img = byId('viewer-media');
        if (item?.zoomOriginal && img instanceof HTMLImageElement) loadLarger(img, mediaUrl(data, item.id, 'original'));
      },
    });
  }
  initInfoToggle();
  const slideshow = initSlideshow({
    viewer,
    count: () => data.items.length,
    current: () => current,
    show: (i) => open(i),
    closed: () => viewer.hidden,
    // past the last item loaded, the show fetches the next page (a big album plays to its end)
    more: loadMore
      ? async () => {
          const before = data.items.length;
          await loadMore();
          virtualGrid?.refresh();
          return data.items.length > before;
        }
      : null,
  });
  // leaving the viewer stops the show
  new MutationObserver(() => {
    if (viewer.hidden) slideshow?.stop();
  }).observe(viewer, { attributes: true, attributeFilter: ['hidden'] });
}

/**
 * The slideshow (issue 21 §3): "Slideshow" or `s` opens the viewer and moves on every few seconds (3, 5 or 10),
 * waiting for a video to finish; play/pause and full screen in the viewer bar; arrow keys still move by hand.
 * It loops over the items loaded on this page.
 */
function initSlideshow(v: {
  viewer: HTMLElement;
  count: () => number;
  current: () => number;
  show: (i: number) => void;
  closed: () => boolean;
  /** loads more items; resolves whether some arrived */
  more: (() => Promise<boolean>) | null;
}): { stop: () => void } | null {
  const controls = byId('slideshow-controls');
  const toggle = byId<HTMLButtonElement>('slideshow-toggle');
  const interval = byId<HTMLSelectElement>('slideshow-interval');
  const fullscreen = byId<HTMLButtonElement>('viewer-fullscreen');
  const start = byId<HTMLButtonElement>('slideshow-start');
  if (!controls || !toggle || !interval || !fullscreen || !start) return null;
  controls.hidden = false;
  start.hidden = false;
  let playing = false;
  let timer: number | undefined;

  function setPlaying(on: boolean) {
    playing = on;
    toggle!.textContent = on ? t('pause') : t('play');
    toggle!.setAttribute('aria-pressed', String(on));
    v.viewer.classList.toggle('slideshow', on);
    schedule();
  }

  /** Waits on the item now shown: a video until it ends, anything else for the interval. */
  /** Each wait has a number; a wait that was replaced (moved by hand, paused) no longer advances. */
  let wait = 0;
  function schedule() {
    clearTimeout(timer);
    timer = undefined;
    const mine = ++wait;
    if (!playing) return;
    const next = () => {
      if (mine === wait) void advance();
    };
    const media = byId('viewer-media');
    if (media instanceof HTMLVideoElement) {
      media.addEventListener('ended', next, { once: true });
      media.play().catch(() => {
        // autoplay refused (no sound allowed yet): muted it may play
        media.muted = true;
        media.play().catch(next);
      });
      return;
    }
    timer = window.setTimeout(next, Number(interval!.value) * 1000);
  }

  /**
   * The next item; showing it changes the position, which starts its wait (the observer below). At the end of
   * what is loaded, the next page is fetched first; at the end of the album, it starts again.
   */
  async function advance() {
    if (!playing || v.closed()) return;
    const target = v.current() + 1;
    if (target >= v.count() && v.more) {
      const mine = wait;
      const arrived = await v.more().catch(() => false);
      if (mine !== wait || !playing || v.closed()) return;
      if (arrived) return v.show(target);
    }
    const n = v.count();
    if (n > 0) v.show(target % n);
  }

  function play() {
    if (v.closed()) v.show(Math.max(0, v.current()));
    setPlaying(true);
  }

  start.addEventListener('click', play);
  toggle.addEventListener('click', () => (playing ? setPlaying(false) : play()));
  interval.addEventListener('change', schedule);
  fullscreen.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void v.viewer.requestFullscreen?.().catch(() => {});
  });
  document.addEventListener('fullscreenchange', () =>
    fullscreen.setAttribute('aria-pressed', String(document.fullscreenElement === v.viewer)),
  );
  document.addEventListener('keydown', (e) => {
    if (e.key !== 's' || typing(e) || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    if (playing) setPlaying(false);
    else play();
  });
  // moving by hand restarts the wait on the new item
  new MutationObserver(() => {
    if (playing) schedule();
  }).observe(byId('viewer-position') ?? v.viewer, { childList: true, characterData: true, subtree: true });
  return { stop: () => playing && setPlaying(false) };
}

/** The Info button shows/hides the metadata panel (it starts open). */
function initInfoToggle(): void {
  const button = byId<HTMLButtonElement>('viewer-info');
  const panel = byId('viewer-meta');
  if (!button || !panel) return;
  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    button.setAttribute('aria-expanded', String(!panel.hidden));
  });
}

// ── keyboard on a server-rendered photo page ────────────────────────────────────────────────────────

function initPhotoPage(): void {
  const follow = (id: string) => {
    const a = byId<HTMLAnchorElement>(id);
    if (a && !a.hidden && a.href) location.assign(a.href);
  };
  document.addEventListener('keydown', (e) => {
    if (typing(e) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'ArrowLeft') follow('viewer-prev');
    else if (e.key === 'ArrowRight') follow('viewer-next');
    else if (e.key === 'Escape') follow('viewer-close');
    else return;
    e.preventDefault();
  });
  const media = byId('viewer-media');
  if (media instanceof HTMLImageElement) attachLiveMotion(media);
  const stage = document.querySelector<HTMLElement>('.viewer-stage');
  if (stage) {
    attachGestures(stage, {
      media: () => byId('viewer-media'),
      next: () => follow('viewer-next'),
      prev: () => follow('viewer-prev'),
      close: () => follow('viewer-close'),
      zoomed: () => {
        if (media instanceof HTMLImageElement && media.dataset.zoom) loadLarger(media, media.dataset.zoom);
      },
    });
  }
  initInfoToggle();
}

// ── upload ──────────────────────────────────────────────────────────────────────────────────────────

interface UploadBatchAnswer {
  items?: { fileName?: string; status?: string; error?: string }[];
  message?: string;
}

function initUpload(): void {
  const form = byId<HTMLFormElement>('upload');
  const input = byId<HTMLInputElement>('upload-files');
  const list = byId('upload-list');
  const overlay = byId('drop-overlay');
  if (!form || !input || !list) return;
  const action = form.action;
  let queue: Promise<void> = Promise.resolve();
  let done = 0;
  let failed = 0;
  let summary: HTMLElement | null = null;

  function uploadOne(file: File, row: HTMLElement, bar: HTMLProgressElement, state: HTMLElement): Promise<void> {
    return new Promise((resolve) => {
      const body = new FormData();
      body.append('files', file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', action);
      xhr.setRequestHeader('accept', 'application/json');
      xhr.upload.addEventListener('progress', (e) => {
        if (!e.lengthComputable) return;
        bar.max = e.total;
        bar.value = e.loaded;
        state.textContent = `${Math.floor((100 * e.loaded) / e.total)}%`;
      });
      const fail = (message: string) => {
        failed++;
        row.classList.add('failed');
        state.textContent = t('uploadFailed');
        row.title = message;
        const why = document.createElement('span');
        why.className = 'summary';
        why.textContent = message;
        row.append(why);
        resolve();
      };
      xhr.addEventListener('load', () => {
        let answer: UploadBatchAnswer = {};
        try {
          answer = JSON.parse(xhr.responseText) as UploadBatchAnswer;
        } catch {
          // not JSON
        }
        if (xhr.status < 200 || xhr.status >= 300)
          return fail(answer.message || t('serverAnswered', { status: xhr.status }));
        const item = answer.items?.[0];
        if (item?.status === 'failed') return fail(item.error || t('fileRefused'));
        done++;
        bar.max = 1;
        bar.value = 1;
        row.classList.add('done');
        state.textContent = item?.status === 'duplicate' ? t('uploadDuplicate') : t('uploadDone');
        if (item?.status !== 'duplicate') waiting++;
        resolve();
      });
      xhr.addEventListener('error', () => fail(t('networkError')));
      xhr.addEventListener('abort', () => fail(t('cancelled')));
      xhr.send(body);
    });
  }

  function updateSummary() {
    summary ??= document.createElement('li');
    summary.className = 'summary';
    summary.replaceChildren();
    const text = document.createElement('span');
    text.textContent = `${failed ? t('uploadedSummaryFailed', { done, failed }) : t('uploadedSummary', { done })} `;
    const refresh = document.createElement('a');
    refresh.href = location.pathname + location.search;
    refresh.textContent = t('refresh');
    summary.append(text, refresh);
    list!.append(summary);
    showReviewWait();
  }

  // issue 19: through a reviewed link, what this visitor uploaded waits for the owner (not shown in the grid)
  let waiting = 0;
  function showReviewWait() {
    const note = byId('upload-review');
    if (!form!.dataset.review || !note || waiting === 0) return;
    note.textContent = plural('uploadReviewPending', waiting);
  }

  function enqueue(files: File[]) {
    for (const file of files) {
      const row = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = file.name;
      const state = document.createElement('span');
      state.className = 'state';
      state.textContent = t('uploadWaiting');
      const bar = document.createElement('progress');
      bar.max = 1;
      bar.value = 0;
      bar.setAttribute('aria-label', t('uploadProgressOf', { name: file.name }));
      row.append(name, state, bar);
      list!.append(row);
      queue = queue.then(() => uploadOne(file, row, bar, state));
    }
    queue = queue.then(updateSummary);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (input.files?.length) enqueue([...input.files]);
    input.value = '';
  });
  input.addEventListener('change', () => {
    if (input.files?.length) enqueue([...input.files]);
    input.value = '';
  });

  const hasFiles = (e: DragEvent) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  let depth = 0;
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    if (overlay) overlay.hidden = false;
  });
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('dragleave', (e) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0 && overlay) overlay.hidden = true;
  });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    if (overlay) overlay.hidden = true;
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) enqueue(files);
  });
}

// ── the grid: laid out here, next pages fetched as you scroll ──────────────────────────────────────

/** Must match CONTINUATION_HEADER of routes/pages.ts: these fetches are not counted as page views. */
const CONTINUATION_HEADER = 'x-share-continuation';

/**
 * Fetches the next grid page (the server-rendered page, whose `#share-data` holds its items) and hands its items
 * to the grid and the viewer (`data` is shared). Resolves whether more pages remain; throws on any failure (the
 * page links still work then). Once every page from the first is loaded, the page links go.
 */
function createPageLoader(data: ShareData): (() => Promise<boolean>) | null {
  if (data.page >= data.pageCount) return null;
  const startPage = data.page;
  let lastPage = data.page;
  // the grid and the slideshow both ask for more: one fetch at a time, each page once
  let inFlight: Promise<boolean> | null = null;
  return () => {
    if (lastPage >= data.pageCount) return Promise.resolve(false);
    inFlight ??= loadNext().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
  async function loadNext(): Promise<boolean> {
    const query = viewQuery(data)
      .map((q) => `&${q}`)
      .join('');
    const res = await fetch(`${data.base}?page=${lastPage + 1}${query}`, {
      headers: { accept: 'text/html', [CONTINUATION_HEADER]: '1' },
      credentials: 'same-origin',
    });
    if (!res.ok) throw new Error(`next page: ${res.status}`);
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    const more = JSON.parse(doc.getElementById('share-data')?.textContent ?? 'null') as ShareData | null;
    if (!more || more.page !== lastPage + 1) throw new Error('next page: unexpected answer');
    data.items.push(...more.items);
    Object.assign(data.groupLabels, more.groupLabels);
    data.after = more.after;
    lastPage = more.page;
    const nav = byId('pagination');
    const nextNav = doc.getElementById('pagination');
    if (lastPage >= data.pageCount && startPage === 1) nav?.remove();
    else if (nav && nextNav) nav.replaceWith(document.adoptNode(nextNav));
    return lastPage < data.pageCount;
  }
}

// ── start ───────────────────────────────────────────────────────────────────────────────────────────

function start(): void {
  document.documentElement.classList.add('js');
  const body = document.body;
  if (body.classList.contains('page-album')) {
    const data = readData();
    setStrings(data?.locale, data?.strings);
    const exporter = createExporter();
    if (data) {
      data.groupLabels ??= {};
      const query = viewQuery(data).join('&');
      data.photoQuery = query ? `?${query}` : '';
      const loadMore = createPageLoader(data);
      const grid = initVirtualGrid(data, loadMore);
      initGridViewer(data, grid, loadMore);
      const selection = initSelection(data, exporter);
      initShareSheet(data, selection, exporter);
    }
    initDownloadAll(exporter);
    initUpload();
  } else if (body.classList.contains('page-photo')) {
    initPhotoPage();
  }
  body.dataset.ready = 'true';
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
