import { html, type SafeHtml } from './html.ts';

/** Where the page's own CSS and JS are served from (versioned URLs, see client/bundle.ts). */
export interface StaticUrls {
  css: string;
  js: string;
}

export interface OpenGraph {
  title: string;
  description: string;
  /** absolute URLs */
  url: string;
  /** the preview card (absolute URL, JPEG) */
  image: { url: string; width: number; height: number } | null;
}

export interface LayoutOptions {
  /** the page's language (BCP 47) */
  lang: string;
  title: string;
  assets: StaticUrls;
  body: SafeHtml;
  /** `page-album`, `page-photo`, `page-message`… (CSS hooks) */
  pageClass: string;
  og?: OpenGraph | null;
  description?: string | null;
  /** skip the script (error pages need none) */
  script?: boolean;
}

/**
 * The document shell. Everything loads from this origin (strict CSP: no inline script or style); the icon is
 * an empty data: URL so the browser does not ask for /favicon.ico. Link keys are in URLs, so robots are told
 * not to index (Referrer-Policy: no-referrer comes with the security headers).
 */
export function layout(o: LayoutOptions): string {
  const og = o.og;
  return html`<!doctype html>
<html lang="${o.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${o.title}</title>
${o.description ? html`<meta name="description" content="${o.description}">` : ''}
${
  og
    ? html`<meta property="og:type" content="website">
<meta property="og:site_name" content="immish">
<meta property="og:title" content="${og.title}">
<meta property="og:description" content="${og.description}">
<meta property="og:url" content="${og.url}">
${
  og.image
    ? html`<meta property="og:image" content="${og.image.url}">
<meta property="og:image:type" content="image/jpeg">
<meta property="og:image:width" content="${og.image.width}">
<meta property="og:image:height" content="${og.image.height}">`
    : ''
}
<meta name="twitter:card" content="${og.image ? 'summary_large_image' : 'summary'}">`
    : ''
}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${o.assets.css}">
${o.script === false ? '' : html`<script src="${o.assets.js}" defer></script>`}
</head>
<body class="${o.pageClass}">
${o.body}
</body>
</html>
`.value;
}
