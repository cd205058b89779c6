import { DomainError, invalid } from '@immish/contracts';

/**
 * Multipart parts, with a malformed body (bad boundary, cut-off part, not multipart at all) turned into a
 * 400 instead of surfacing as a parser exception (→ 500). Parser limit errors (413) keep their status.
 */
export async function* partsOrBadRequest<T>(open: () => AsyncIterable<T>): AsyncGenerator<T> {
  let iterator: AsyncIterator<T>;
  try {
    iterator = open()[Symbol.asyncIterator]();
  } catch (err) {
    throw asBadRequest(err);
  }
  while (true) {
    let next: IteratorResult<T>;
    try {
      next = await iterator.next();
    } catch (err) {
      throw asBadRequest(err);
    }
    if (next.done) return;
    yield next.value;
  }
}

function asBadRequest(err: unknown): unknown {
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (err instanceof DomainError || (e.statusCode && e.statusCode < 500) || e.code?.startsWith('FST_')) return err;
  return invalid(`Malformed multipart/form-data body: ${e.message ?? String(err)}`);
}
