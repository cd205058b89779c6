export type ParsedByteRange = { start: number; end: number } | 'unsatisfiable' | null;

/**
 * Parses a `Range` header against an object size (RFC 9110 §14.1.2). Returns null when the header is
 * absent, malformed or asks for several ranges (the whole object is then served, as the RFC allows),
 * 'unsatisfiable' when it cannot be served (→ 416).
 */
export function parseByteRange(header: string | undefined, size: number): ParsedByteRange {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return null; // syntactically invalid → ignore
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
