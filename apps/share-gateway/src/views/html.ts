// The auto-escaping templates live in runtime (the share page and the owner console render with the same ones).
export { escapeHtml, type HtmlValue, html, jsonScript, raw, SafeHtml } from '@immish/runtime';
