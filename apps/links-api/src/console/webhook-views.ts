import { WEBHOOK_EVENT_TYPES, type WebhookDeliveryDto, type WebhookDto } from '@immish/contracts';
import type { UserRow } from '@immish/db';
import { html, type SafeHtml } from '@immish/runtime';
import type { ConsoleStrings } from './strings.en.ts';
import { type ConsoleAssets, type Notice, shell } from './views.ts';

/**
 * The Webhooks screen (issue 18 item 6): the owner's endpoints, a form to add one (its secret shown once, on the
 * page the form's post answers with), and one page per endpoint with its actions and delivery log. Every action
 * is a plain form (works without JavaScript: console-webhooks.ts); the bundle only adds Copy for the secret.
 */

const when = (t: ConsoleStrings, iso: string) =>
  `${new Date(iso).toLocaleString(t.locale, { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'medium' })} UTC`;

function state(t: ConsoleStrings, ep: WebhookDto): SafeHtml {
  const w = t.webhooks;
  return html`<span class="badge${ep.enabled ? '' : ' badge-expired'} webhook-state">${ep.enabled ? w.enabled : w.disabled}</span>`;
}

function reasons(t: ConsoleStrings, ep: WebhookDto): SafeHtml {
  const w = t.webhooks;
  return html`${ep.disabledReason ? html`<p class="error webhook-reason">${w.disabledBecause(ep.disabledReason)}</p>` : ''}
  ${ep.failingSince && ep.enabled ? html`<p class="muted webhook-failing">${w.failingSince(when(t, ep.failingSince))}</p>` : ''}`;
}

export function webhooksPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  endpoints: WebhookDto[],
  notice: Notice | null,
  form: { url: string; description: string; events: string[] } | null = null,
): string {
  const w = t.webhooks;
  const rows = endpoints.map(
    (ep) => html`<li class="card webhook" id="webhook-${ep.id}" data-webhook-id="${ep.id}">
  <div class="link-head"><h3 class="webhook-url">${ep.url}</h3>${state(t, ep)}</div>
  ${ep.description ? html`<p class="muted">${ep.description}</p>` : ''}
  <p class="hint webhook-events">${w.events}: ${ep.events.join(', ')}</p>
  ${reasons(t, ep)}
  <div class="actions"><a class="button secondary" href="/webhooks/${ep.id}" aria-label="${w.openOf(ep.url)}">${w.open}</a></div>
</li>`,
  );
  const chosen = new Set(form?.events ?? []);
  return shell(
    t,
    assets,
    user,
    'webhooks',
    html`<div class="toolbar"><h2>${w.title}</h2></div>
<p class="muted">${w.intro}</p>
${endpoints.length === 0 ? html`<p class="empty">${w.empty}</p>` : html`<ul class="list" id="webhooks">${rows}</ul>`}
<form id="webhook-form" method="post" action="/webhooks" class="card form-page">
  <h2>${w.add}</h2>
  <label for="wh-url">${w.url}</label>
  <input id="wh-url" name="url" type="url" required maxlength="2048" autocomplete="off" spellcheck="false" aria-describedby="wh-url-hint" value="${form?.url ?? ''}">
  <p id="wh-url-hint" class="hint">${w.urlHint}</p>
  <label for="wh-description">${w.description}</label>
  <input id="wh-description" name="description" type="text" maxlength="500" value="${form?.description ?? ''}">
  <fieldset class="event-choices" aria-describedby="wh-events-hint">
    <legend>${w.events}</legend>
    <p id="wh-events-hint" class="hint">${w.eventsHint}</p>
    ${WEBHOOK_EVENT_TYPES.map(
      (type) =>
        html`<div class="toggle"><input id="wh-ev-${type}" name="events" type="checkbox" value="${type}"${chosen.has(type) ? html` checked` : ''}><label for="wh-ev-${type}">${type}</label></div>`,
    )}
  </fieldset>
  <div class="actions"><button type="submit" id="wh-create">${w.create}</button></div>
</form>`,
    '',
    'page-webhooks',
    notice,
  );
}

/** The answer to the add form: the endpoint and its secret, this once (a reload shows the endpoint page). */
export function webhookCreatedPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  ep: WebhookDto,
  secret: string,
): string {
  const w = t.webhooks;
  return shell(
    t,
    assets,
    user,
    'webhooks',
    html`<section class="card form-page" id="webhook-created" aria-labelledby="wh-created-title" data-webhook-id="${ep.id}">
  <h2 id="wh-created-title">${w.created}</h2>
  <p class="webhook-url">${ep.url}</p>
  <label for="wh-secret">${w.secret}</label>
  <input id="wh-secret" type="text" readonly value="${secret}" aria-describedby="wh-secret-hint" spellcheck="false">
  <p id="wh-secret-hint" class="hint">${w.secretHint}</p>
  <div class="actions">
    <button type="button" id="wh-copy" data-copied="${w.copied}" hidden>${w.copy}</button>
    <a class="button secondary" href="/webhooks/${ep.id}" id="wh-continue">${w.open}</a>
  </div>
</section>`,
    '',
    'page-webhook-created',
  );
}

function deliveryRow(t: ConsoleStrings, endpointId: string, d: WebhookDeliveryDto): SafeHtml {
  const w = t.webhooks;
  const last = d.attempts.at(-1);
  const time = when(t, last?.at ?? d.createdAt);
  const answer = last ? (last.statusCode !== null ? `HTTP ${last.statusCode}` : (last.error ?? w.noAnswer)) : '—';
  return html`<li class="card delivery delivery-${d.status}" data-delivery-id="${d.id}" data-event-id="${d.eventId}">
  <div class="link-head"><h4 class="delivery-type">${d.eventType}</h4><span class="badge delivery-status${d.status === 'failed' ? ' badge-expired' : ''}">${w.statusText[d.status]}</span></div>
  <dl class="counters">
    <div><dt>${w.status}</dt><dd class="delivery-answer">${answer}</dd></div>
    <div><dt>${w.latency}</dt><dd class="delivery-latency">${last ? `${last.latencyMs} ms` : '—'}</dd></div>
    <div><dt>${w.time}</dt><dd class="delivery-time">${time}</dd></div>
    <div><dt>${w.attempts}</dt><dd class="delivery-attempts">${d.attempts.length}</dd></div>
  </dl>
  ${last?.responseSnippet ? html`<p class="hint">${w.response}</p><pre class="delivery-snippet">${last.responseSnippet}</pre>` : ''}
  ${
    d.status === 'failed'
      ? html`<form method="post" action="/webhooks/${endpointId}/deliveries/${d.id}/retry" class="inline"><button type="submit" class="secondary delivery-retry" aria-label="${w.retryOf(d.eventType, time)}">${w.retry}</button></form>`
      : ''
  }
</li>`;
}

/**
 * One endpoint: its actions and a page of its delivery log, newest first. "Older" is a plain link to the next page
 * (`?cursor=`, the API's cursor); "Refresh" goes back to the newest.
 */
export function webhookPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  ep: WebhookDto,
  log: { deliveries: WebhookDeliveryDto[]; nextCursor: string | null; older: boolean },
  notice: Notice | null,
): string {
  const w = t.webhooks;
  const { deliveries, nextCursor } = log;
  return shell(
    t,
    assets,
    user,
    'webhooks',
    html`<p><a href="/webhooks">← ${w.back}</a></p>
<section class="card webhook" id="webhook-${ep.id}" data-webhook-id="${ep.id}" aria-labelledby="wh-title">
  <div class="link-head"><h2 id="wh-title" class="webhook-url">${ep.url}</h2>${state(t, ep)}</div>
  ${ep.description ? html`<p class="muted">${ep.description}</p>` : ''}
  <p class="hint webhook-events">${w.events}: ${ep.events.join(', ')}</p>
  ${reasons(t, ep)}
  <div class="actions">
    <form method="post" action="/webhooks/${ep.id}/test" class="inline"><button type="submit" id="wh-test">${w.sendTest}</button></form>
    <form method="post" action="/webhooks/${ep.id}/enabled" class="inline"><input type="hidden" name="enabled" value="${ep.enabled ? 'false' : 'true'}"><button type="submit" class="secondary" id="wh-toggle">${ep.enabled ? w.disable : w.enable}</button></form>
    <a class="button danger" role="button" href="/webhooks/${ep.id}/delete" id="wh-delete">${w.remove}</a>
  </div>
</section>
<div class="toolbar"><h3>${w.deliveries}</h3><a class="button secondary" href="/webhooks/${ep.id}" id="wh-refresh">${log.older ? w.newest : w.refresh}</a></div>
${
  deliveries.length === 0
    ? html`<p class="empty">${w.deliveriesEmpty}</p>`
    : html`<ul class="list" id="deliveries">${deliveries.map((d) => deliveryRow(t, ep.id, d))}</ul>`
}
${
  nextCursor
    ? html`<p><a class="button secondary" id="wh-older" rel="next" href="/webhooks/${ep.id}?${new URLSearchParams({ cursor: nextCursor }).toString()}">${w.older}</a></p>`
    : ''
}`,
    '',
    'page-webhook',
    notice,
  );
}

export function deleteWebhookPage(
  t: ConsoleStrings,
  assets: ConsoleAssets,
  user: UserRow,
  ep: WebhookDto,
  error: string | null,
): string {
  const w = t.webhooks;
  return shell(
    t,
    assets,
    user,
    'webhooks',
    html`<form id="delete-webhook-page" method="post" action="/webhooks/${ep.id}/delete" class="card form-page" aria-labelledby="delete-title" aria-describedby="delete-text">
  <h2 id="delete-title">${w.deleteTitle}</h2>
  <p id="delete-text">${w.deleteText(ep.url)}</p>
  <p id="delete-error" class="error" role="alert">${error ?? ''}</p>
  <div class="actions">
    <a class="button secondary" href="/webhooks/${ep.id}">${w.cancel}</a>
    <button type="submit" class="danger" id="delete-ok">${w.confirmDelete}</button>
  </div>
</form>`,
    '',
    'page-webhook',
  );
}
