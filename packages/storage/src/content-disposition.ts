/**
 * `Content-Disposition` per RFC 6266: an ASCII `filename` fallback for old clients plus the exact
 * name as RFC 8187 `filename*`. Path separators, quotes and control characters never reach either.
 */
export function contentDisposition(fileName: string, disposition: 'attachment' | 'inline' = 'attachment'): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is being removed
  const safe = fileName.replace(/[\u0000-\u001f\u007f/\\"]/g, '_').trim() || 'download';
  // Non-ASCII and "%" (some browsers percent-decode the plain parameter) become "_" in the fallback.
  const fallback = safe.replace(/[^\x20-\x7e]|%/g, '_');
  // encodeURIComponent leaves ' ( ) * unescaped, which RFC 8187 attr-char does not allow.
  const encoded = encodeURIComponent(safe).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
