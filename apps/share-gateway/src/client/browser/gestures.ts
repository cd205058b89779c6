/// <reference lib="dom" />

/**
 * The viewer on touch (issue 21 §1): swipe left/right for the next/previous photo, swipe down to close, pinch or
 * double-tap to zoom (the caller then loads a larger image), drag to pan while zoomed. Pointer events, so a pen
 * works too; the mouse keeps the buttons and keys. Transforms go on the media element; a new item resets them.
 */

const SWIPE_PX = 60;
const CLOSE_PX = 110;
const DOUBLE_TAP_MS = 320;
const DOUBLE_TAP_PX = 30;
const MAX_SCALE = 5;
const DOUBLE_TAP_SCALE = 2.5;

export interface GestureTarget {
  media(): HTMLElement | null;
  next(): void;
  prev(): void;
  close(): void;
  /** called once per item when it is first zoomed in */
  zoomed(): void;
}

export interface Gestures {
  /** back to scale 1 (a new item is shown) */
  reset(): void;
}

export function attachGestures(stage: HTMLElement, target: GestureTarget): Gestures {
  const pointers = new Map<number, { x: number; y: number }>();
  let scale = 1;
  let tx = 0;
  let ty = 0;
  let start: { x: number; y: number; tx: number; ty: number } | null = null;
  let pinch: { dist: number; scale: number; cx: number; cy: number; tx: number; ty: number } | null = null;
  let lastTap: { t: number; x: number; y: number } | null = null;
  let swipe = { dx: 0, dy: 0 };
  let zoomReported = false;

  function apply(animate: boolean, fade = 1) {
    const m = target.media();
    if (!m) return;
    m.style.transition = animate ? 'transform 0.2s ease, opacity 0.2s ease' : 'none';
    m.style.transform = scale === 1 && tx === 0 && ty === 0 ? '' : `translate(${tx}px, ${ty}px) scale(${scale})`;
    m.style.opacity = fade < 1 ? String(fade) : '';
    stage.classList.toggle('zoomed', scale > 1);
    if (scale > 1 && !zoomReported) {
      zoomReported = true;
      target.zoomed();
    }
  }

  function clampPan() {
    const m = target.media();
    if (!m) return;
    const w = m.offsetWidth;
    const h = m.offsetHeight;
    const maxX = Math.max(0, (w * scale - w) / 2);
    const maxY = Math.max(0, (h * scale - h) / 2);
    tx = Math.min(maxX, Math.max(-maxX, tx));
    ty = Math.min(maxY, Math.max(-maxY, ty));
  }

  /** Zoom to `s` keeping the point (x, y) of the stage under the finger. */
  function zoomAt(s: number, x: number, y: number, from = { scale, tx, ty }) {
    const rect = stage.getBoundingClientRect();
    const ox = x - rect.left - rect.width / 2;
    const oy = y - rect.top - rect.height / 2;
    const k = s / from.scale;
    scale = s;
    tx = ox - (ox - from.tx) * k;
    ty = oy - (oy - from.ty) * k;
    if (scale <= 1) {
      scale = 1;
      tx = 0;
      ty = 0;
    }
    clampPan();
  }

  const isMedia = (e: PointerEvent) => e.pointerType !== 'mouse';

  stage.addEventListener('pointerdown', (e) => {
    if (!isMedia(e) || (e.target as Element).closest('a, button, video')) return;
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    stage.setPointerCapture?.(e.pointerId);
    if (pointers.size === 1) {
      start = { x: e.clientX, y: e.clientY, tx, ty };
      swipe = { dx: 0, dy: 0 };
    } else if (pointers.size === 2) {
      const [a, b] = [...pointers.values()] as [{ x: number; y: number }, { x: number; y: number }];
      pinch = {
        dist: Math.hypot(a.x - b.x, a.y - b.y) || 1,
        scale,
        cx: (a.x + b.x) / 2,
        cy: (a.y + b.y) / 2,
        tx,
        ty,
      };
      start = null;
    }
  });

  stage.addEventListener('pointermove', (e) => {
    const p = pointers.get(e.pointerId);
    if (!p) return;
    p.x = e.clientX;
    p.y = e.clientY;
    if (pinch && pointers.size >= 2) {
      const [a, b] = [...pointers.values()] as [{ x: number; y: number }, { x: number; y: number }];
      const s = Math.min(MAX_SCALE, Math.max(1, (pinch.scale * Math.hypot(a.x - b.x, a.y - b.y)) / pinch.dist));
      zoomAt(s, pinch.cx, pinch.cy, { scale: pinch.scale, tx: pinch.tx, ty: pinch.ty });
      apply(false);
      return;
    }
    if (!start) return;
    const dx = e.clientX - start.x;
    const dy = e.clientY - start.y;
    if (scale > 1) {
      tx = start.tx + dx;
      ty = start.ty + dy;
      clampPan();
      apply(false);
      return;
    }
    swipe = { dx, dy };
    const horizontal = Math.abs(dx) > Math.abs(dy);
    tx = horizontal ? dx : 0;
    ty = horizontal ? 0 : Math.max(0, dy);
    apply(false, horizontal ? 1 : Math.max(0.3, 1 - ty / 400));
    // the translate is a preview of the swipe, not a zoom
    tx = 0;
    ty = 0;
  });

  function end(e: PointerEvent) {
    if (!pointers.delete(e.pointerId)) return;
    if (pinch) {
      if (pointers.size < 2) pinch = null;
      if (pointers.size === 1) {
        const [p] = [...pointers.values()] as [{ x: number; y: number }];
        start = { x: p.x, y: p.y, tx, ty };
      }
      return;
    }
    if (pointers.size > 0 || !start) return;
    const moved = Math.hypot(e.clientX - start.x, e.clientY - start.y);
    start = null;
    if (scale === 1) {
      const { dx, dy } = swipe;
      if (Math.abs(dx) > Math.abs(dy) && Math.abs(dx) > SWIPE_PX) {
        apply(false);
        return dx < 0 ? target.next() : target.prev();
      }
      if (dy > CLOSE_PX && Math.abs(dy) > Math.abs(dx)) {
        apply(false);
        return target.close();
      }
      apply(true);
    }
    if (moved < DOUBLE_TAP_PX) {
      const now = e.timeStamp;
      if (
        lastTap &&
        now - lastTap.t < DOUBLE_TAP_MS &&
        Math.hypot(e.clientX - lastTap.x, e.clientY - lastTap.y) < DOUBLE_TAP_PX
      ) {
        lastTap = null;
        if (scale > 1) zoomAt(1, e.clientX, e.clientY);
        else zoomAt(DOUBLE_TAP_SCALE, e.clientX, e.clientY);
        apply(true);
        return;
      }
      lastTap = { t: now, x: e.clientX, y: e.clientY };
    }
  }
  stage.addEventListener('pointerup', end);
  stage.addEventListener('pointercancel', end);

  return {
    reset() {
      scale = 1;
      tx = 0;
      ty = 0;
      pointers.clear();
      pinch = null;
      start = null;
      zoomReported = false;
      stage.classList.remove('zoomed');
    },
  };
}
