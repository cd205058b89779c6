/**
 * Export archive engine: a streaming ZIP writer (STORED, UTF-8 names, ZIP64, bounded memory),
 * the exact size of an archive before writing it, entry/archive file names and part planning.
 * Pure library: no database, queue or storage driver.
 *
 * Typical use by the export job:
 *
 *   const parts = planArchive(assets.map((a) => ({ ...a, name: a.originalFileName, size: a.fileSize })),
 *     { albumName, now: new Date(), maxPartSize });          // names made safe + unique, exact sizes
 *   for (const part of parts) {
 *     const out = storage.createWriter(key(part));           // Content-Length = part.size
 *     await writeZip(part.entries.map((a) => ({
 *       name: a.name, size: a.size, modifiedAt: a.fileModifiedAt,
 *       open: () => storage.openRead(a.path),                // a Readable delivering exactly `size` bytes
 *     })), out, { onProgress, signal });                     // ends `out` once every byte is flushed
 *     await out.commit();                                    // on failure `out` was destroyed instead
 *   }
 */
export {
  archiveBaseName,
  archiveFileName,
  collisionKey,
  isSafeEntryName,
  MAX_NAME_BYTES,
  partFileName,
  sanitizeEntryName,
  splitExtension,
  toEntryNames,
  uniqueNames,
} from './names.ts';
export type { PlanArchiveOptions, PlannedPart, SizedEntry } from './plan.ts';
export { planArchive, planParts, predictZipSize } from './plan.ts';
export type { EntryReader } from './pooled-sink.ts';
export type { ArchiveEntrySource, ArchiveResult, WriteZipOptions } from './zip-writer.ts';
export { ArchiveError, EntrySizeMismatchError, writeZip } from './zip-writer.ts';
