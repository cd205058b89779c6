import type { Actor } from '@immish/contracts';
import {
  appendEvents,
  type Db,
  type ExportPartRecord,
  type ExportRow,
  type ExportSubstitutionRecord,
} from '@immish/db';
import { type BlobStore, UnsupportedByStoreError } from '@immish/storage';
import { someHiddenByTrash } from '../access.ts';
import { insertActivity } from '../activity/queries.ts';
import { exportStoragePrefix } from './keys.ts';
import {
  dueExportIds,
  linkShowsMetadata,
  markExportExpired,
  markExportFailed,
  markExportReady,
  selectExportSourceRows,
  updateRunningExport,
} from './queries.ts';

/**
 * The worker side of an export's life (docs/spec.md §7): queued → running → ready | failed, ready → expired.
 * Every transition is conditional on the current status, so a redelivered job, two cleanup runs at
 * once, or an export deleted by its requester mid-build never change anything twice.
 */

const SYSTEM: Actor = { type: 'system', id: null };

const withCorrelation = (correlationId: string | undefined) => (correlationId ? { correlationId } : {});

/** One asset of a frozen export, as the worker streams it. */
export interface ExportSourceAsset {
  id: string;
  originalFileName: string;
  originalKey: string;
  mimeType: string;
  /** the full-size preview JPEG (no metadata), what replaces an original that cannot be stripped */
  previewKey: string | null;
  size: number;
  modifiedAt: Date;
}

/**
 * Whether trash now hides one of the export's frozen assets from the export's requester (the access module's
 * rule: only an asset's owner still sees it once trashed; a link's export is for its recipients). Such an
 * export is void: the worker refuses to build it and a ready archive is no longer served (it may hold the
 * asset). The requester asks again and gets a new selection without it.
 */
export async function exportHiddenByTrash(db: Db, row: ExportRow): Promise<boolean> {
  const viewer = row.shared_link_id !== null ? null : row.requested_by_user_id;
  return someHiddenByTrash(db, viewer, row.asset_ids);
}

/**
 * The frozen assets of an export, in the order of its list. An asset deleted since the request is
 * left out (its bytes are gone). A trashed one stays only for its owner's own export: otherwise the
 * export is void (exportHiddenByTrash) and never gets here.
 */
export async function loadExportAssets(db: Db, row: ExportRow): Promise<ExportSourceAsset[]> {
  if (row.asset_ids.length === 0) return [];
  const rows = await selectExportSourceRows(db, row.asset_ids);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const out: ExportSourceAsset[] = [];
  for (const id of row.asset_ids) {
    const a = byId.get(id);
    if (!a) continue;
    out.push({
      id: a.id,
      originalFileName: a.original_file_name,
      originalKey: a.original_key,
      mimeType: a.mime_type,
      previewKey: a.preview_key,
      size: Number(a.size),
      modifiedAt: a.file_modified_at,
    });
  }
  return out;
}

/**
 * Whether this build must leave metadata out (docs/spec.md §14), decided again when the archive is built: it was
 * asked so (the link hid metadata when the export was requested; legacy rows: `anonymizeNames`), or the
 * link it was made through hides metadata now — a link flipped to showMetadata=false after the request
 * must not get an archive with metadata. (A flip after the build is caught when serving: `getExport`.)
 */
export async function exportMustHideMetadata(db: Db, row: ExportRow): Promise<boolean> {
  if (row.hides_metadata || row.options.anonymizeNames === true) return true;
  if (row.shared_link_id === null) return false;
  const shows = await linkShowsMetadata(db, row.shared_link_id);
  // No link: it was deleted and the export with it (cascade); build nothing revealing meanwhile.
  return shows === undefined ? true : !shows;
}

/**
 * Records progress of a running export, with an `export.progress` event when `emitEvent` (the worker
 * throttles both). Returns false when the export is no longer running (deleted by its requester).
 */
export async function recordExportProgress(
  db: Db,
  exportId: string,
  progress: { bytesDone: number; bytesTotal: number },
  opts: { emitEvent: boolean; correlationId?: string },
): Promise<boolean> {
  const update = (trx: Db) =>
    updateRunningExport(trx, exportId, {
      bytes_done: progress.bytesDone,
      bytes_total: progress.bytesTotal,
      updated_at: new Date(),
    });
  if (!opts.emitEvent) return update(db);
  return db.transaction().execute(async (trx) => {
    if (!(await update(trx))) return false;
    await appendEvents(trx, [
      {
        type: 'export.progress',
        actor: SYSTEM,
        subject: { type: 'export', id: exportId },
        data: { exportId, ...progress },
        ...withCorrelation(opts.correlationId),
      },
    ]);
    return true;
  });
}

/**
 * `running` → `ready` once every part is committed: parts, full progress, expiry and the
 * `export.completed` event in one transaction. Returns the row, or undefined when the export is no
 * longer running (deleted meanwhile: the caller then removes what it wrote).
 */
export async function completeExport(
  db: Db,
  exportId: string,
  done: {
    parts: ExportPartRecord[];
    bytesTotal: number;
    ttlHours: number;
    /** the archive was built without metadata (see `exportMustHideMetadata`) */
    hidesMetadata?: boolean;
    /** assets of such an archive replaced by their preview or left out */
    substitutions?: ExportSubstitutionRecord[];
    now?: Date;
    correlationId?: string;
  },
): Promise<ExportRow | undefined> {
  const now = done.now ?? new Date();
  return db.transaction().execute(async (trx) => {
    const row = await markExportReady(trx, exportId, {
      parts: JSON.stringify(done.parts),
      hides_metadata: done.hidesMetadata === true,
      client_key: null, // no longer pending: the per-client cap forgets the client
      substitutions: JSON.stringify(done.substitutions ?? []),
      bytes_done: done.bytesTotal,
      bytes_total: done.bytesTotal,
      expires_at: new Date(now.getTime() + done.ttlHours * 3600_000),
      completed_at: now,
      updated_at: now,
      error: null,
    });
    if (!row) return undefined;
    await appendEvents(trx, [
      {
        type: 'export.completed',
        actor: SYSTEM,
        subject: { type: 'export', id: exportId },
        data: { exportId, parts: done.parts.length, bytesTotal: done.bytesTotal },
        ...withCorrelation(done.correlationId),
      },
    ]);
    // a link's export: its activity log says when the archive was ready (README "Link activity log")
    if (row.shared_link_id !== null)
      await insertActivity(trx, [
        { link_id: row.shared_link_id, at: now, action: 'export-ready', export_id: exportId },
      ]);
    return row;
  });
}

/** `queued`/`running` → `failed` with the reason and `export.failed`; false when already final or gone. */
export async function failExport(
  db: Db,
  exportId: string,
  error: string,
  opts: { correlationId?: string } = {},
): Promise<boolean> {
  const message = error.slice(0, 2000) || 'Export failed';
  return db.transaction().execute(async (trx) => {
    if (!(await markExportFailed(trx, exportId, message))) return false;
    await appendEvents(trx, [
      {
        type: 'export.failed',
        actor: SYSTEM,
        subject: { type: 'export', id: exportId },
        data: { exportId, error: message },
        ...withCorrelation(opts.correlationId),
      },
    ]);
    return true;
  });
}

export interface ExpireExportsResult {
  expired: number;
  /** abandoned in-flight writes removed (workers that died and never came back) */
  abandonedWrites: number;
}

/**
 * The repeatable cleanup (docs/spec.md §7): every ready export past its expiry loses its archives and becomes
 * `expired`. The objects go first and the status after, so a crash in between only leaves work for
 * the next run (a ready-but-expired export is already refused for download). Safe to run
 * concurrently and repeatedly: deletes are idempotent and the status change is conditional.
 * Also removes export writes abandoned for longer than `abandonedWriteAgeMs` (default: the store's 24 h).
 */
export async function expireExports(
  db: Db,
  storage: BlobStore,
  opts: { now?: Date; batchSize?: number; abandonedWriteAgeMs?: number } = {},
): Promise<ExpireExportsResult> {
  const now = opts.now ?? new Date();
  const batchSize = opts.batchSize ?? 200;
  let expired = 0;
  for (;;) {
    const due = await dueExportIds(db, now, batchSize);
    if (due.length === 0) break;
    for (const id of due) {
      await storage.deletePrefix(exportStoragePrefix(id));
      if (await markExportExpired(db, id)) expired++;
    }
    if (due.length < batchSize) break;
  }
  let abandonedWrites = 0;
  try {
    abandonedWrites = await storage.abortIncompleteWrites('exports/', opts.abandonedWriteAgeMs);
  } catch (err) {
    // Some S3 emulators cannot list multipart uploads; expiry itself has been done.
    if (!(err instanceof UnsupportedByStoreError)) throw err;
  }
  return { expired, abandonedWrites };
}
