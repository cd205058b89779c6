/**
 * Export archive engine: a streaming ZIP writer (STORED, UTF-8 names, ZIP64, bounded memory),
 * the exact size of an archive before writing it, entry/archive file names and part planning.
 * Pure library: no database, queue or storage driver.
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
export type { ArchiveEntrySource, ArchiveResult, WriteZipOptions } from './zip-writer.ts';
export { ArchiveError, EntrySizeMismatchError, writeZip } from './zip-writer.ts';
