/// <reference lib="dom" />
import { byId } from './dom.ts';
import type { Exporter } from './export.ts';
import { plural, t } from './i18n.ts';

/**
 * Picking photos to download (issue 21 §2): a checkbox on each tile (shown on hover and keyboard focus), a long
 * press on touch, Shift-click for a range, "Select all", and "Download selected" through the export worker.
 * While something is selected, a tap or click on a tile toggles it instead of opening the viewer.
 */

const LONG_PRESS_MS = 450;
/** a finger that moves this far is scrolling, not pressing */
const LONG_PRESS_SLOP_PX = 10;

export interface SelectableData {
  items: { id: string }[];
  total: number;
}

/** What is selected: explicit ids, or "Select all" minus the ones unticked since (`except`). */
export interface SelectionState {
  all: boolean;
  ids: string[];
  except: string[];
  count: number;
}

/** The export request of a selection: its ids, or the whole link minus the unticked ones (issue 21 §2). */
export const exportBody = (s: SelectionState): { assetIds?: string[]; exceptAssetIds?: string[] } =>
  s.all ? (s.except.length ? { exceptAssetIds: s.except } : {}) : { assetIds: s.ids };

export interface Selection {
  state(): SelectionState;
  /** called whenever the selection changes */
  onChange(listener: (s: SelectionState) => void): void;
}

export function initSelection(data: SelectableData, exporter: Exporter | null): Selection | null {
  const grid = byId('grid');
  const bar = byId('selection-bar');
  const count = byId('selection-count');
  const startButton = byId<HTMLButtonElement>('select-start');
  const allButton = byId<HTMLButtonElement>('select-all');
  const noneButton = byId<HTMLButtonElement>('select-none');
  const downloadButton = byId<HTMLButtonElement>('download-selected');
  if (!grid || !bar || !count || !allButton || !noneButton || !downloadButton || !exporter) return null;

  const selected = new Set<string>();
  /** "Select all": every asset of the link, loaded on this page or not (the export is then the whole link) */
  let everything = false;
  /** with "Select all": the ones unticked since, loaded or not the others stay selected */
  const except = new Set<string>();
  const listeners: ((s: SelectionState) => void)[] = [];
  /** "Select" was pressed: tiles toggle even with nothing selected yet */
  let mode = false;
  let anchor: number | null = null;

  const indexOf = (el: Element | null): number | null => {
    const a = el?.closest('.tile')?.querySelector<HTMLAnchorElement>('a[data-index]');
    return a ? Number(a.dataset.index) : null;
  };
  const isSelected = (id: string) => (everything ? !except.has(id) : selected.has(id));
  const selecting = () => mode || everything || selected.size > 0;
  const selectedCount = () => (everything ? Math.max(0, data.total - except.size) : selected.size);
  const state = (): SelectionState => ({
    all: everything,
    ids: everything ? [] : [...selected],
    except: everything ? [...except] : [],
    count: selectedCount(),
  });

  function update() {
    const n = selectedCount();
    count!.textContent = plural('selected', n);
    bar!.hidden = !selecting();
    document.body.classList.toggle('selecting', selecting());
    downloadButton!.disabled = n === 0 || exporter!.busy();
    for (const tile of grid!.querySelectorAll<HTMLElement>('.tile')) paint(tile);
    const now = state();
    for (const listener of listeners) listener(now);
  }

  function paint(tile: HTMLElement) {
    const i = indexOf(tile);
    const id = i === null ? undefined : data.items[i]?.id;
    const check = tile.querySelector<HTMLInputElement>('input.tile-check');
    if (!id || !check) return;
    const on = isSelected(id);
    check.checked = on;
    tile.classList.toggle('selected', on);
  }

  function set(i: number, on: boolean) {
    const id = data.items[i]?.id;
    if (!id) return;
    if (everything) {
      // "all except": the unticked ones are remembered, so assets not loaded yet stay selected
      if (on) except.delete(id);
      else except.add(id);
      return;
    }
    if (on) selected.add(id);
    else selected.delete(id);
  }

  function toggle(i: number, range: boolean) {
    const id = data.items[i]?.id;
    if (!id) return;
    const on = !isSelected(id);
    if (range && anchor !== null) {
      const [from, to] = anchor < i ? [anchor, i] : [i, anchor];
      for (let j = from; j <= to; j++) set(j, true);
    } else set(i, on);
    anchor = i;
    update();
  }

  function decorate(tile: HTMLElement) {
    if (tile.querySelector('input.tile-check')) return;
    const link = tile.querySelector('a[data-index]');
    if (!link) return;
    const label = tile.querySelector<HTMLImageElement>('img.tile-thumb')?.alt ?? link.textContent?.trim() ?? '';
    const check = document.createElement('input');
    check.type = 'checkbox';
    check.className = 'tile-check';
    check.setAttribute('aria-label', t('selectItem', { label }));
    tile.prepend(check);
    paint(tile);
  }

  for (const tile of grid.querySelectorAll<HTMLElement>('.tile')) decorate(tile);
  // tiles appended by infinite scroll
  new MutationObserver((records) => {
    for (const r of records)
      for (const node of r.addedNodes) if (node instanceof HTMLElement && node.matches('.tile')) decorate(node);
  }).observe(grid, { childList: true });

  grid.addEventListener(
    'click',
    (e) => {
      const target = e.target as Element;
      if (target instanceof HTMLInputElement && target.classList.contains('tile-check')) {
        const i = indexOf(target);
        if (i === null) return;
        // the box already flipped itself; the state decides
        e.stopPropagation();
        toggle(i, e.shiftKey);
        return;
      }
      const link = target.closest('a[data-index]');
      if (!link) return;
      if (suppressClick) {
        suppressClick = false;
        e.preventDefault();
        e.stopPropagation();
        return;
      }
      if (!selecting() && !(e.shiftKey && anchor !== null)) return;
      e.preventDefault();
      e.stopPropagation(); // the viewer does not open while selecting
      toggle(Number((link as HTMLAnchorElement).dataset.index), e.shiftKey);
    },
    { capture: true },
  );

  // long press on touch (and pen): select the tile, as phone galleries do
  let pressTimer: number | undefined;
  let pressStart: { x: number; y: number } | null = null;
  let suppressClick = false;
  const cancelPress = () => {
    clearTimeout(pressTimer);
    pressTimer = undefined;
    pressStart = null;
  };
  grid.addEventListener('pointerdown', (e) => {
    if (e.pointerType === 'mouse' || !e.isPrimary) return;
    const link = (e.target as Element).closest<HTMLAnchorElement>('a[data-index]');
    if (!link) return;
    suppressClick = false;
    pressStart = { x: e.clientX, y: e.clientY };
    pressTimer = window.setTimeout(() => {
      pressTimer = undefined;
      suppressClick = true;
      toggle(Number(link.dataset.index), false);
    }, LONG_PRESS_MS);
  });
  grid.addEventListener('pointermove', (e) => {
    if (pressStart && Math.hypot(e.clientX - pressStart.x, e.clientY - pressStart.y) > LONG_PRESS_SLOP_PX)
      cancelPress();
  });
  grid.addEventListener('pointerup', cancelPress);
  grid.addEventListener('pointercancel', cancelPress);
  grid.addEventListener('contextmenu', (e) => {
    // the long press is ours, not the browser's image menu
    if (suppressClick || pressTimer !== undefined) e.preventDefault();
  });

  if (startButton) {
    startButton.hidden = false;
    startButton.addEventListener('click', () => {
      mode = true;
      update();
      grid.querySelector<HTMLInputElement>('input.tile-check')?.focus();
    });
  }
  allButton.addEventListener('click', () => {
    everything = true;
    except.clear();
    update();
  });
  function clear() {
    everything = false;
    except.clear();
    mode = false;
    selected.clear();
    anchor = null;
    update();
    startButton?.focus();
  }
  noneButton.addEventListener('click', clear);
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !selecting() || document.body.classList.contains('viewer-open')) return;
    clear();
  });
  downloadButton.addEventListener('click', async () => {
    if (exporter.busy() || selectedCount() === 0) return;
    downloadButton.disabled = true;
    try {
      await exporter.run(exportBody(state()));
    } finally {
      update();
    }
  });
  return { state, onChange: (listener) => listeners.push(listener) };
}
