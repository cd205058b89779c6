/**
 * Entity-tag comparison (RFC 9110 §8.8.3.2), the one copy every conditional request uses.
 *
 * - `weak` (If-None-Match, §13.1.2): `W/"x"` and `"x"` match; the header `*` matches any current representation,
 *   and whoever asks has one (the object exists by the time this is called).
 * - `strong` (If-Range, §13.1.5): only a strong tag identical to the current one matches; a weak tag, `*` (not
 *   part of If-Range's grammar) or an HTTP-date never does, so the whole object is sent again: the safe answer
 *   when the client's partial copy may be of another version.
 */
export function etagMatches(header: string | undefined, etag: string, comparison: 'weak' | 'strong' = 'weak'): boolean {
  if (!header) return false;
  const value = header.trim();
  if (comparison === 'strong') return !value.startsWith('W/') && !etag.startsWith('W/') && value === etag;
  if (value === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return value.split(',').some((tag) => opaque(tag) === opaque(etag));
}
