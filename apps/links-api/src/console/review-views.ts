import type { LinkUploadDto, SharedLinkResponseDto } from '@immish/contracts';
import type { UserRow } from '@immish/db';
import { html } from '@immish/runtime';
import type { ConsoleStrings } from './strings.en.ts';
import { type ConsoleAssets, type Notice, shell } from './views.ts';

/**
 * The review screen of a link's guest uploads (issue 19 item 3, README "Guest-upload moderation"): the pending
 * uploads as thumbnails to tick, Approve or Reject, each confirmed on a page of its own (works without JavaScript:
 * plain forms, POST/redirect/GET). "Select all" is a plain link too (`?all=1`: the same page with every box ticked),
 * so a party's hundred uploads are not ticked one by one; what is decided is still the ids in the form, the ones
 * shown, never uploads that arrived after the page was drawn.
 */

const titleOf = (t: ConsoleStrings, link: SharedLinkResponseDto) =>
  link.description || (link.album ? link.album.albumName : t.links.untitled);

export function reviewPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  link: SharedLinkResponseDto,
  pending: LinkUploadDto[],
  notice: Notice | null,
  /** every box ticked (`?all=1`) */
  allSelected = false,
): string {
  const r = t.review;
  const checked = allSelected ? html` checked` : '';
  const items = pending.map(
    (u) => html`<li class="review-item">
  <label class="review-pick">
    <input type="checkbox" name="assetId" value="${u.assetId}" aria-label="${r.select(u.fileName)}"${checked}>
    ${
      u.thumbnailUrl
        ? html`<img src="${u.thumbnailUrl}" alt="${u.fileName}" width="250" height="250" loading="lazy">`
        : html`<span class="review-processing">${r.processing}</span>`
    }
  </label>
</li>`,
  );
  return shell(
    t,
    assets,
    user,
    'links',
    html`<div class="toolbar"><h2 id="review-title">${r.title}</h2></div>
<p class="muted">${titleOf(t, link)}</p>
<p id="review-count" role="status">${pending.length === 0 ? r.empty : r.pending(pending.length)}</p>
${
  pending.length === 0
    ? ''
    : html`<form id="review-form" method="post" action="/links/${link.id}/uploads" aria-labelledby="review-title">
<p class="review-select">${
        allSelected
          ? html`<a href="/links/${link.id}/uploads" id="review-clear">${r.clearSelection}</a>`
          : html`<a href="/links/${link.id}/uploads?all=1" id="review-select-all">${r.selectAll}</a>`
      }</p>
<ul class="grid review-grid" id="review-grid">${items}</ul>
<div class="actions">
  <button type="submit" name="decision" value="approve" id="review-approve">${r.approve}</button>
  <button type="submit" name="decision" value="reject" class="danger" id="review-reject">${r.reject}</button>
</div>
</form>`
}
<p><a href="/links">${r.back}</a></p>`,
    '',
    'page-link-review',
    notice,
  );
}

/** "Approve 2 photos?": the ticked ids carried on, Confirm posts them with `confirm`, Cancel goes back. */
export function confirmDecisionPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  link: SharedLinkResponseDto,
  decision: 'approve' | 'reject',
  assetIds: readonly string[],
  error: string | null,
): string {
  const r = t.review;
  return shell(
    t,
    assets,
    user,
    'links',
    html`<form id="review-confirm" method="post" action="/links/${link.id}/uploads" class="card form-page" aria-labelledby="review-confirm-title" aria-describedby="review-confirm-text">
  <h2 id="review-confirm-title">${r.confirmTitle}</h2>
  <p id="review-confirm-text">${decision === 'approve' ? r.confirmApprove(assetIds.length) : r.confirmReject(assetIds.length)}</p>
  ${assetIds.map((id) => html`<input type="hidden" name="assetId" value="${id}">`)}
  <input type="hidden" name="decision" value="${decision}">
  <input type="hidden" name="confirm" value="1">
  <p id="review-error" class="error" role="alert">${error ?? ''}</p>
  <div class="actions">
    <a class="button secondary" href="/links/${link.id}/uploads">${r.cancel}</a>
    <button type="submit" id="review-confirm-ok"${decision === 'reject' ? html` class="danger"` : ''}>${r.confirm}</button>
  </div>
</form>`,
    '',
    'page-link-form',
  );
}
