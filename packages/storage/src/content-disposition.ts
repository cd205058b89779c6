import { sanitizeFileName } from './file-names.ts';

/**
 * `Content-Disposition` per RFC 6266: an ASCII `filename` fallback for old clients plus the exact
 * name as RFC 8187 `filename*`. The name goes through the same rule as zip entry names
 * (`sanitizeFileName`: no path separators, quotes, control or bidi characters), so a download and the
 * same file inside an export are saved under the same name.
 */
export function contentDisposition(fileName: string, disposition: 'attachment' | 'inline' = 'attachment'): string {
  const safe = sanitizeFileName(fileName, 'download');
  // Non-ASCII and "%" (some browsers percent-decode the plain parameter) become "_" in the fallback.
  const fallback = safe.replace(/[^\x20-\x7e]|%/g, '_');
  // encodeURIComponent leaves ' ( ) * unescaped, which RFC 8187 attr-char does not allow.
  const encoded = encodeURIComponent(safe).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
