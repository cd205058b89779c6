import { en as t } from '../strings.en.ts';

/**
 * The Activity screen with JavaScript (the page works without: the filter is a GET form, "Load more" a link):
 * the filter applies on change, and "Load more" fetches the next page of this same screen and appends its
 * entries in place, moving the link to the page after that (or removing it at the end).
 */
export function initActivity(): void {
  const filter = document.getElementById('activity-action') as HTMLSelectElement | null;
  filter?.addEventListener('change', () =>
    (document.getElementById('activity-filter') as HTMLFormElement | null)?.requestSubmit(),
  );
  const log = document.getElementById('activity-log');
  const status = document.getElementById('activity-status');
  document.addEventListener('click', async (ev) => {
    const more = (ev.target as Element | null)?.closest<HTMLAnchorElement>('#activity-more');
    if (!more || !log || !status) return;
    ev.preventDefault();
    if (more.getAttribute('aria-disabled') === 'true') return;
    more.setAttribute('aria-disabled', 'true');
    status.textContent = t.activity.loading;
    try {
      const res = await fetch(more.href, { credentials: 'same-origin', headers: { accept: 'text/html' } });
      if (!res.ok || res.redirected) throw new Error(String(res.status));
      const next = new DOMParser().parseFromString(await res.text(), 'text/html');
      const items = [...(next.getElementById('activity-log')?.children ?? [])];
      const first = items[0] as HTMLElement | undefined;
      for (const item of items) log.append(document.importNode(item, true));
      const nextMore = next.getElementById('activity-more') as HTMLAnchorElement | null;
      if (nextMore) {
        more.href = nextMore.getAttribute('href') ?? more.href;
        more.removeAttribute('aria-disabled');
      } else more.closest('p')?.remove();
      status.textContent = t.activity.loaded(items.length);
      if (first) {
        const appended = log.querySelector<HTMLElement>(`[data-entry-id="${first.dataset.entryId}"]`);
        appended?.setAttribute('tabindex', '-1');
        appended?.focus();
      }
    } catch {
      status.textContent = t.activity.loadFailed;
      more.removeAttribute('aria-disabled');
    }
  });
}
