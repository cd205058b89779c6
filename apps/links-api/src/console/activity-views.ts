import {
  LINK_ACTIVITY_ACTIONS,
  type LinkActivityActionName,
  type LinkActivityPageDto,
  type LinkActivitySummaryDto,
  type SharedLinkResponseDto,
} from '@immish/contracts';
import type { UserRow } from '@immish/db';
import { html } from '@immish/runtime';
import type { ConsoleStrings } from './strings.en.ts';
import { type ConsoleAssets, shell } from './views.ts';

/** `2026-12-05 18:04 UTC`: the log is read across time zones; the day list is in UTC too. */
const when = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/** The URL of this screen with its filter and cursor (the "Load more" link; the bundle fetches it instead). */
export function activityPageUrl(linkId: string, action: LinkActivityActionName | null, cursor: string | null): string {
  const q = new URLSearchParams();
  if (action) q.set('action', action);
  if (cursor) q.set('cursor', cursor);
  const s = q.toString();
  return `/links/${linkId}/activity${s ? `?${s}` : ''}`;
}

/**
 * A link's Activity screen (issue 18 item 6): the summary, the days, and the log page by page. Works without
 * JavaScript (the filter is a GET form, "Load more" a link to the next page); with it, "Load more" appends the
 * next page in place (browser/activity.ts).
 */
export function linkActivityPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  link: SharedLinkResponseDto,
  summary: LinkActivitySummaryDto,
  log: LinkActivityPageDto,
  action: LinkActivityActionName | null,
): string {
  const a = t.activity;
  const title = link.description || (link.album ? link.album.albumName : t.links.untitled);
  const entries = log.items.map((e) => {
    const client = e.client.network
      ? `${e.client.network}${e.client.browser ? ` · ${e.client.browser}` : ''}${e.client.os ? ` · ${e.client.os}` : ''}`
      : a.unknownClient;
    const subject = e.assetId ? a.asset(e.assetId) : e.exportId ? a.exportOf(e.exportId) : '';
    return html`<li class="activity-entry" data-action="${e.action}" data-entry-id="${e.id}">
  <time datetime="${e.at}">${when(e.at)}</time>
  <strong>${a.actions[e.action]}</strong>${subject ? html` <span class="subject">${subject}</span>` : ''}
  <span class="muted client">${client}${e.client.bot ? html` · <span class="badge">${a.bot}</span>` : ''}</span>
</li>`;
  });
  const days = [...summary.days].reverse();
  return shell(
    t,
    assets,
    user,
    'links',
    html`<div class="toolbar"><h2 id="activity-title">${a.title(title)}</h2></div>
<p><a href="/links" id="activity-back">${a.back}</a></p>
<section aria-labelledby="activity-summary-title" class="card">
  <h3 id="activity-summary-title">${a.summary}</h3>
  <dl class="counters" id="activity-summary">
    <div><dt>${a.visits}</dt><dd class="visits">${summary.visits}</dd></div>
    <div><dt>${a.visitors}</dt><dd class="visitors">${summary.uniqueVisitors}</dd></div>
    <div><dt>${a.downloads}</dt><dd class="downloads">${summary.downloads}</dd></div>
    <div><dt>${a.uploads}</dt><dd class="uploads">${summary.uploads}</dd></div>
  </dl>
</section>
<section aria-labelledby="activity-days-title">
  <h3 id="activity-days-title">${a.byDay}</h3>
  ${
    days.length === 0
      ? html`<p class="empty">${a.noDays}</p>`
      : html`<div class="table-scroll" tabindex="0" role="region" aria-labelledby="activity-days-title"><table id="activity-days" class="activity-days">
    <thead><tr><th scope="col">${a.day}</th><th scope="col">${a.visits}</th><th scope="col">${a.visitors}</th><th scope="col">${a.downloads}</th><th scope="col">${a.uploads}</th></tr></thead>
    <tbody>${days.map((d) => html`<tr><th scope="row">${d.day}</th><td>${d.visits}</td><td>${d.uniqueVisitors}</td><td>${d.downloads}</td><td>${d.uploads}</td></tr>`)}</tbody>
  </table></div>`
  }
</section>
<section aria-labelledby="activity-log-title">
  <h3 id="activity-log-title">${a.log}</h3>
  <form method="get" action="/links/${link.id}/activity" class="filter" id="activity-filter">
    <label for="activity-action">${a.action}</label>
    <select id="activity-action" name="action">
      <option value="">${a.allActions}</option>
      ${LINK_ACTIVITY_ACTIONS.map((x) => html`<option value="${x}"${x === action ? html` selected` : ''}>${a.actions[x]}</option>`)}
    </select>
    <button type="submit" class="secondary" id="activity-apply">${a.apply}</button>
  </form>
  ${log.items.length === 0 ? html`<p class="empty" id="activity-empty">${a.empty}</p>` : ''}
  <ol class="activity-log" id="activity-log">${entries}</ol>
  <p id="activity-status" class="hint" role="status"></p>
  ${
    log.nextCursor
      ? html`<p><a class="button secondary" id="activity-more" href="${activityPageUrl(link.id, action, log.nextCursor)}">${a.more}</a></p>`
      : ''
  }
</section>`,
    '',
    'page-link-activity',
  );
}
