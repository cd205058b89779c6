// The pages' security headers live in runtime (the share page and the owner console send the same ones).
export { CONTENT_SECURITY_POLICY, defaultResponseHeaders, securityHeaders } from '@immish/runtime';
