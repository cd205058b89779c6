/**
 * docs/spec.md §5.4, §10: every share-gateway and owner-console page carries these. The pages load nothing from elsewhere, so
 * the CSP allows only this origin; `Referrer-Policy: no-referrer` because link keys are in URLs.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "script-src 'self'",
  "style-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export const securityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * What every gateway response starts with (createHttpApp's `defaultHeaders`: set before any route runs, and on
 * the router's own refusals). Responses carry link keys and private photos: nothing is stored unless a route
 * says so (media, static).
 */
export const defaultResponseHeaders: Readonly<Record<string, string>> = {
  ...securityHeaders,
  'cache-control': 'no-store',
};
