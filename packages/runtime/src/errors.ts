import { isInsufficientStorage } from '@immish/storage';

// The error family is defined once, with the shapes, in @immish/contracts (the domain throws it without depending
// on this package); it is re-exported here because this package's error handler renders it.
export {
  conflict,
  DomainError,
  type ErrorKind,
  forbidden,
  gone,
  insufficientStorage,
  invalid,
  noAccess,
  notFound,
  rateLimited,
  statusOfKind,
  tooLarge,
  unauthenticated,
  unavailable,
} from '@immish/contracts';

/**
 * PostgreSQL SQLSTATEs that mean "the database cannot serve this now": shutting down / crash recovery (57P0x),
 * too many connections (53300), connection failures (08xxx), and a session ended by
 * idle_in_transaction_session_timeout (25P03). Not 57014 (a statement cancelled by statement_timeout): that one
 * statement was too slow, and a job meeting it must spend its attempts rather than be handed back forever
 * (the HTTP error handler answers it 503 all the same: see isStatementTimeout).
 */
const PG_UNAVAILABLE = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '25P03',
]);

/** PostgreSQL cancelled a statement at statement_timeout (SQLSTATE 57014, query_canceled). */
export const isStatementTimeout = (err: unknown): boolean => (err as { code?: string } | null)?.code === '57014';
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
/** The store's own "unreachable" error (@immish/storage StorageUnavailableError: timeouts, refused connections, 503s). */
const STORAGE_UNAVAILABLE = 'STORAGE_UNAVAILABLE';

/**
 * Is this error a backing service being down or stalled (→ 503 + Retry-After) rather than a bug?
 * Postgres connection errors, pool acquire and statement timeouts, Redis connection/"offline queue" errors and
 * command timeouts, S3 network errors and stalls (the storage package reports them as StorageUnavailableError).
 */
export function isBackingServiceDown(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const x = e as { code?: string; message?: string; name?: string; cause?: unknown; $metadata?: unknown };
    if (x.code && (PG_UNAVAILABLE.has(x.code) || NET_UNAVAILABLE.has(x.code) || x.code === STORAGE_UNAVAILABLE))
      return true;
    // the S3 SDK's connection and stall timeouts (also mid-download, on the body stream)
    if (x.name === 'TimeoutError') return true;
    const m = x.message ?? '';
    if (
      /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|connect ECONNREFUSED|Stream isn't writeable|enableOfflineQueue|Connection is closed|Reached the max retries per request|the database system is (starting up|shutting down)|terminating connection due to administrator command|Query read timeout|Command timed out/i.test(
        m,
      )
    )
      return true;
    e = x.cause;
  }
  return false;
}

/**
 * Is this error the storage (or a local disk) being full (→ 507 Insufficient Storage)? The one rule lives with
 * the store (@immish/storage isInsufficientStorage): its InsufficientStorageError, or a raw ENOSPC/EDQUOT.
 */
export const isStorageFull = (err: unknown): boolean => isInsufficientStorage(err);

/** What an HTTP client is told when the storage is full (the 507 answer's message). */
export const STORAGE_FULL_MESSAGE =
  'Insufficient storage: the server has no space left to store this; nothing of it was kept. ' +
  'Retry once space has been freed (ask the administrator)';
