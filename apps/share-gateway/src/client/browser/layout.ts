/// <reference lib="dom" />
import { itemLabel } from './i18n.ts';

/**
 * The album grid with JavaScript (issue 21 §5): justified rows on wide screens (each row filled, every photo at
 * its own aspect ratio), a tight square grid on phones, and only the tiles near the viewport in the DOM, so a
 * 10,000-asset album stays light. Tiles are made from the page data (the same markup as the server's tiles);
 * more items arrive through `loadMore` as the end of what is laid out comes near. Without JavaScript the
 * server-rendered CSS grid and its page links stay.
 */

export interface TileItem {
  id: string;
  type: 'IMAGE' | 'VIDEO' | 'OTHER';
  width: number | null;
  height: number | null;
  duration?: string | null;
  hasThumbnail?: boolean;
  placeholder?: string | null;
  /** the day it was taken (`YYYY-MM-DD`), when the link shows dates */
  day?: string | null;
}

export interface GridSource {
  base: string;
  total: number;
  firstIndex: number;
  items: TileItem[];
  /** grouping by day or month: a heading before each group (issue 21 §5) */
  group?: 'day' | 'month' | null;
  /** the headings, formatted by the server in the page's language (merged as pages arrive) */
  groupLabels?: Record<string, string>;
  /** the query a photo link carries (order, grouping) */
  photoQuery?: string;
}

export interface VirtualGrid {
  /** Scrolls tile `i` into view and returns its link (for focus after the viewer closes). */
  reveal(i: number): HTMLAnchorElement | null;
  /** Lays out again (new items, resize). */
  refresh(): void;
}

interface Box {
  top: number;
  left: number;
  width: number;
  height: number;
}
interface Row {
  top: number;
  height: number;
  first: number;
  last: number;
}

/** below this grid width: the phone's tight square grid */
const JUSTIFY_MIN_WIDTH = 600;
const TARGET_ROW_HEIGHT = 220;
const JUSTIFIED_GAP = 6;
const PHONE_GAP = 2;
/** how far beyond the viewport tiles are kept, in viewport heights */
const OVERSCAN = 1;
/** a group's heading (2.5rem) */
const HEADING_HEIGHT = 40;

interface Heading {
  key: string;
  top: number;
  first: number;
}

const groupOf = (it: TileItem, by: GridSource['group']): string | null =>
  by && it.day ? (by === 'month' ? it.day.slice(0, 7) : it.day) : null;

/** Consecutive runs of items in the same group: [start, end) pairs (one run when not grouping). */
function runs(items: TileItem[], by: GridSource['group']): { key: string | null; start: number; end: number }[] {
  const out: { key: string | null; start: number; end: number }[] = [];
  for (let i = 0; i < items.length; i++) {
    const key = groupOf(items[i]!, by);
    const last = out[out.length - 1];
    if (last && last.key === key) last.end = i + 1;
    else out.push({ key, start: i, end: i + 1 });
  }
  return out;
}

const aspect = (it: TileItem) => (it.width && it.height ? Math.min(Math.max(it.width / it.height, 0.25), 4) : 1);

/** Justified rows: items added to a row until it would be wider than the grid, then the row is scaled to fit. */
export function justify(items: TileItem[], width: number, complete: boolean, gap = JUSTIFIED_GAP) {
  const boxes: Box[] = [];
  const rows: Row[] = [];
  let top = 0;
  let start = 0;
  while (start < items.length) {
    let sum = 0;
    let end = start;
    while (end < items.length) {
      sum += aspect(items[end]!);
      end++;
      if (sum * TARGET_ROW_HEIGHT + gap * (end - start - 1) >= width) break;
    }
    const count = end - start;
    const fits = sum * TARGET_ROW_HEIGHT + gap * (count - 1) >= width;
    // the last row of the album keeps the target height; a row not yet complete waits for more items
    if (!fits && !complete) break;
    const height = fits ? (width - gap * (count - 1)) / sum : TARGET_ROW_HEIGHT;
    let x = 0;
    for (let i = start; i < end; i++) {
      const w = aspect(items[i]!) * height;
      boxes.push({ top, left: x, width: w, height });
      x += w + gap;
    }
    rows.push({ top, height, first: start, last: end - 1 });
    top += height + gap;
    start = end;
  }
  return { boxes, rows, height: Math.max(0, top - gap), laidOut: start };
}

/** The phone's grid: square tiles, 3 columns (4 from 450 px). */
export function squares(items: TileItem[], width: number, gap = PHONE_GAP) {
  const columns = width >= 450 ? 4 : 3;
  const size = (width - gap * (columns - 1)) / columns;
  const boxes: Box[] = [];
  const rows: Row[] = [];
  for (let i = 0; i < items.length; i += columns) {
    const top = (i / columns) * (size + gap);
    const last = Math.min(items.length, i + columns) - 1;
    for (let j = i; j <= last; j++) boxes.push({ top, left: (j - i) * (size + gap), width: size, height: size });
    rows.push({ top, height: size, first: i, last });
  }
  return { boxes, rows, height: Math.max(0, rows.length * (size + gap) - gap), laidOut: items.length, columns, size };
}

export function initVirtualGrid(source: GridSource, loadMore: (() => Promise<boolean>) | null): VirtualGrid | null {
  const grid = document.getElementById('grid');
  if (!grid || !('ResizeObserver' in window)) return null;
  grid.classList.add('virtual');
  grid.replaceChildren();
  const tiles = new Map<number, HTMLLIElement>();
  const headingEls = new Map<string, HTMLLIElement>();
  let headings: Heading[] = [];
  let boxes: Box[] = [];
  let rows: Row[] = [];
  let laidOut = 0;
  let width = 0;
  let loading = false;
  let more = loadMore !== null;
  let frame = 0;

  function tile(i: number): HTMLLIElement {
    const item = source.items[i]!;
    const li = document.createElement('li');
    li.className = 'tile';
    li.id = `a-${item.id}`;
    const a = document.createElement('a');
    a.href = `${source.base}/photos/${item.id}${source.photoQuery ?? ''}`;
    a.dataset.index = String(i);
    const label = itemLabel(item.type, source.firstIndex + i + 1, source.total);
    if (item.placeholder) {
      const ph = document.createElement('img');
      ph.className = 'tile-placeholder';
      ph.src = item.placeholder;
      ph.alt = '';
      ph.setAttribute('aria-hidden', 'true');
      a.append(ph);
    }
    if (item.hasThumbnail !== false) {
      const img = document.createElement('img');
      img.className = 'tile-thumb';
      img.alt = label;
      img.decoding = 'async';
      img.src = `${source.base}/assets/${item.id}/thumbnail`;
      a.append(img);
    } else {
      const missing = document.createElement('span');
      missing.className = 'tile-missing';
      missing.textContent = label;
      a.append(missing);
    }
    if (item.duration) {
      const badge = document.createElement('span');
      badge.className = 'tile-badge';
      badge.textContent = `▶ ${item.duration}`;
      a.append(badge);
    }
    li.append(a);
    return li;
  }

  /** Each group laid out on its own (justified rows or squares) under its heading, one below the other. */
  function layoutGroups() {
    const justified = width >= JUSTIFY_MIN_WIDTH;
    const gap = justified ? JUSTIFIED_GAP : PHONE_GAP;
    const all = runs(source.items, source.group);
    const out = { boxes: [] as Box[], rows: [] as Row[], headings: [] as Heading[], height: 0, laidOut: 0 };
    let top = 0;
    for (const [g, run] of all.entries()) {
      // a group followed by another is complete; the last one waits for more items while pages remain
      const complete = !more || g < all.length - 1;
      const items = source.items.slice(run.start, run.end);
      const l = justified ? justify(items, width, complete) : squares(items, width, PHONE_GAP);
      if (l.laidOut === 0) break;
      if (run.key !== null) {
        out.headings.push({ key: run.key, top, first: run.start });
        top += HEADING_HEIGHT;
      }
      for (const b of l.boxes) out.boxes.push({ ...b, top: b.top + top });
      for (const r of l.rows)
        out.rows.push({ top: r.top + top, height: r.height, first: r.first + run.start, last: r.last + run.start });
      out.laidOut = run.start + l.laidOut;
      out.height = top + l.height;
      top += l.height + gap;
      if (l.laidOut < items.length) break;
    }
    return out;
  }

  function layout() {
    width = grid!.clientWidth;
    const l = layoutGroups();
    boxes = l.boxes;
    rows = l.rows;
    laidOut = l.laidOut;
    headings = l.headings;
    for (const [key, li] of headingEls) {
      li.remove();
      headingEls.delete(key);
    }
    // room for what is not loaded yet, so the scrollbar tells the album's length
    const lastRow = rows[rows.length - 1];
    const perRow = rows.length ? laidOut / rows.length : 1;
    const rowStep = (lastRow?.height ?? TARGET_ROW_HEIGHT) + JUSTIFIED_GAP;
    const rest = source.total - source.firstIndex - laidOut;
    grid!.style.height = `${Math.ceil(l.height + (rest > 0 ? Math.ceil(rest / perRow) * rowStep : 0))}px`;
    grid!.dataset.loaded = String(source.items.length);
    grid!.dataset.layout = width >= JUSTIFY_MIN_WIDTH ? 'justified' : 'squares';
    for (const [i, li] of tiles) place(li, i);
  }

  function place(li: HTMLLIElement, i: number) {
    const b = boxes[i];
    if (!b) return;
    li.style.transform = `translate(${b.left}px, ${b.top}px)`;
    li.style.width = `${b.width}px`;
    li.style.height = `${b.height}px`;
  }

  /** First row whose bottom is below `y` (binary search: rows are in order). */
  function rowAt(y: number): number {
    let lo = 0;
    let hi = rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rows[mid]!.top + rows[mid]!.height < y) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function render() {
    frame = 0;
    const gridTop = grid!.getBoundingClientRect().top;
    const view = window.innerHeight;
    const from = -gridTop - view * OVERSCAN;
    const to = -gridTop + view * (1 + OVERSCAN);
    let first = 0;
    let last = -1;
    if (rows.length) {
      const r0 = rowAt(from);
      let r1 = r0;
      while (r1 + 1 < rows.length && rows[r1 + 1]!.top <= to) r1++;
      if (rows[r0]!.top <= to) {
        first = rows[r0]!.first;
        last = rows[r1]!.last;
      }
    }
    for (const [i, li] of tiles) {
      if (i < first || i > last) {
        li.remove();
        tiles.delete(i);
      }
    }
    let before: HTMLLIElement | null = null;
    for (let i = last; i >= first; i--) {
      let li = tiles.get(i);
      if (!li) {
        li = tile(i);
        place(li, i);
        tiles.set(i, li);
        grid!.insertBefore(li, before);
      }
      before = li;
    }
    renderHeadings(from, to);
    const laidBottom = rows.length ? rows[rows.length - 1]!.top + rows[rows.length - 1]!.height : 0;
    if (more && !loading && to + view > laidBottom) void fetchMore();
  }

  /** The headings near the viewport, each just before its group's first tile (reading order). */
  function renderHeadings(from: number, to: number) {
    const shown = new Set<string>();
    for (const h of headings) {
      if (h.top + HEADING_HEIGHT < from || h.top > to) continue;
      const id = String(h.first);
      shown.add(id);
      let li = headingEls.get(id);
      if (!li) {
        li = document.createElement('li');
        li.className = 'group-heading';
        const h2 = document.createElement('h2');
        h2.textContent = source.groupLabels?.[h.key] ?? h.key;
        li.append(h2);
        li.style.transform = `translateY(${h.top}px)`;
        li.style.height = `${HEADING_HEIGHT}px`;
        headingEls.set(id, li);
      }
      const next = tiles.get(h.first) ?? null;
      if (li.nextSibling !== next || !li.isConnected) grid!.insertBefore(li, next);
    }
    for (const [key, li] of headingEls) {
      if (!shown.has(key)) {
        li.remove();
        headingEls.delete(key);
      }
    }
  }

  let failures = 0;
  async function fetchMore() {
    if (!loadMore) return;
    loading = true;
    try {
      more = await loadMore();
      failures = 0;
    } catch {
      // a slow or failed page: try again a little later, then leave it to the page links
      failures++;
      if (failures >= 3) more = false;
      else await new Promise((resolve) => setTimeout(resolve, 1000 * failures));
    } finally {
      loading = false;
    }
    layout();
    schedule();
  }

  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(render);
  };

  layout();
  render();
  window.addEventListener('scroll', schedule, { passive: true });
  new ResizeObserver(() => {
    if (grid.clientWidth !== width) {
      layout();
      schedule();
    }
  }).observe(grid);

  return {
    reveal(i) {
      const b = boxes[i];
      if (!b) return null;
      const gridTop = grid.getBoundingClientRect().top + window.scrollY;
      const y = gridTop + b.top;
      if (y < window.scrollY || y + b.height > window.scrollY + window.innerHeight)
        window.scrollTo({ top: Math.max(0, y - window.innerHeight / 3) });
      render();
      return tiles.get(i)?.querySelector('a') ?? null;
    },
    refresh() {
      layout();
      schedule();
    },
  };
}
