/**
 * Byte layout of the ZIP records this engine writes (PKWARE APPNOTE 6.3.x), shared by the writer
 * and the size predictor so that a predicted size is exact by construction.
 *
 * Every entry is laid out as:
 *   local file header (sizes known up front, CRC-32 zero, general purpose bits 3 and 11)
 *     + extended timestamp extra field (0x5455) [+ ZIP64 extra field when the entry is ≥ 4 GiB]
 *   file data, STORED
 *   data descriptor with signature carrying the CRC-32 computed while streaming
 *     (8-byte sizes when the local header has a ZIP64 extra field, 4-byte otherwise).
 * Then the central directory (one header per entry, with a ZIP64 extra field holding sizes and offset
 * when any of them overflows 32 bits), a ZIP64 end of central directory record + locator when the
 * entry count, the directory size or its offset overflow, and the end of central directory record.
 */

/** A 32-bit size/offset field holding this value (or more) moves into ZIP64 structures. */
export const ZIP32_MAX = 0xffffffff;
/** A 16-bit entry count holding this value (or more) moves into the ZIP64 end of central directory. */
export const ZIP16_MAX = 0xffff;

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const DATA_DESCRIPTOR_SIGNATURE = 0x08074b50;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const ZIP64_END_SIGNATURE = 0x06064b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const END_SIGNATURE = 0x06054b50;

const LOCAL_HEADER_FIXED = 30;
const CENTRAL_HEADER_FIXED = 46;
const EXTENDED_TIMESTAMP_LENGTH = 9; // id 2 + size 2 + flags 1 + mtime 4 (the same in local and central headers)
const LOCAL_ZIP64_EXTRA_LENGTH = 20; // id 2 + size 2 + uncompressed 8 + compressed 8
const CENTRAL_ZIP64_EXTRA_LENGTH = 28; // id 2 + size 2 + uncompressed 8 + compressed 8 + offset 8
const ZIP64_END_LENGTH = 56;
const ZIP64_LOCATOR_LENGTH = 20;
const END_LENGTH = 22;

const EXTENDED_TIMESTAMP_ID = 0x5455;
const ZIP64_EXTRA_ID = 0x0001;
const FLAG_DATA_DESCRIPTOR = 1 << 3;
const FLAG_UTF8 = 1 << 11;
const FLAGS = FLAG_DATA_DESCRIPTOR | FLAG_UTF8;
const METHOD_STORED = 0;
const VERSION_NEEDED_DEFAULT = 20; // 2.0: data descriptor
const VERSION_NEEDED_ZIP64 = 45; // 4.5: ZIP64
const VERSION_MADE_BY = (3 << 8) | 63; // UNIX, APPNOTE 6.3: the external attributes below are Unix modes
const EXTERNAL_ATTRIBUTES = (0o100644 << 16) >>> 0; // regular file, rw-r--r--

/** An entry of this size needs ZIP64 sizes in its local header and data descriptor. */
export const isZip64Size = (size: number): boolean => size >= ZIP32_MAX;

export function localHeaderLength(nameLength: number, size: number): number {
  return (
    LOCAL_HEADER_FIXED + nameLength + EXTENDED_TIMESTAMP_LENGTH + (isZip64Size(size) ? LOCAL_ZIP64_EXTRA_LENGTH : 0)
  );
}

export function dataDescriptorLength(size: number): number {
  return isZip64Size(size) ? 24 : 16;
}

/**
 * Whether an entry's central header carries a ZIP64 extra field. When it does, the field holds all
 * three values (uncompressed size, compressed size, local header offset; the three 32-bit fields all
 * set to 0xFFFFFFFF), not only the overflowing ones. Writing only the overflowing ones is also valid, but Info-ZIP's unzip 6.0
 * decides which values to read partly from the previous entry's state: after an entry of exactly
 * 0xFFFFFFFF bytes it expects sizes in the next entry's extra field and rejects the archive.
 */
function centralNeedsZip64(size: number, offset: number): boolean {
  return isZip64Size(size) || offset >= ZIP32_MAX;
}

export function centralHeaderLength(nameLength: number, size: number, offset: number): number {
  return (
    CENTRAL_HEADER_FIXED +
    nameLength +
    EXTENDED_TIMESTAMP_LENGTH +
    (centralNeedsZip64(size, offset) ? CENTRAL_ZIP64_EXTRA_LENGTH : 0)
  );
}

export function needsZip64End(entryCount: number, directorySize: number, directoryOffset: number): boolean {
  return entryCount >= ZIP16_MAX || directorySize >= ZIP32_MAX || directoryOffset >= ZIP32_MAX;
}

export function endRecordsLength(entryCount: number, directorySize: number, directoryOffset: number): number {
  return (
    END_LENGTH +
    (needsZip64End(entryCount, directorySize, directoryOffset) ? ZIP64_END_LENGTH + ZIP64_LOCATOR_LENGTH : 0)
  );
}

/** Everything the central directory needs to remember about an entry once its data is written. */
export interface CentralRecord {
  name: Buffer;
  size: number;
  offset: number;
  crc: number;
  dosTime: number;
  dosDate: number;
  unixTime: number;
}

/** DOS date and time fields (UTC wall clock, 2-second resolution, clamped to 1980–2107). */
export function dosDateTime(date: Date): { dosTime: number; dosDate: number } {
  let year = date.getUTCFullYear();
  let month = date.getUTCMonth() + 1;
  let day = date.getUTCDate();
  let hours = date.getUTCHours();
  let minutes = date.getUTCMinutes();
  let seconds = date.getUTCSeconds();
  if (year < 1980) [year, month, day, hours, minutes, seconds] = [1980, 1, 1, 0, 0, 0];
  else if (year > 2107) [year, month, day, hours, minutes, seconds] = [2107, 12, 31, 23, 59, 58];
  return {
    dosTime: (hours << 11) | (minutes << 5) | (seconds >> 1),
    dosDate: ((year - 1980) << 9) | (month << 5) | day,
  };
}

/** Seconds since the epoch for the extended timestamp field (a signed 32-bit value in that format). */
export function unixSeconds(date: Date): number {
  return Math.min(0x7fffffff, Math.max(-0x80000000, Math.floor(date.getTime() / 1000)));
}

function writeUInt64(buffer: Buffer, value: number, at: number): number {
  buffer.writeUInt32LE(value % 0x100000000, at);
  buffer.writeUInt32LE(Math.floor(value / 0x100000000), at + 4);
  return at + 8;
}

function writeExtendedTimestamp(buffer: Buffer, unixTime: number, at: number): number {
  buffer.writeUInt16LE(EXTENDED_TIMESTAMP_ID, at);
  buffer.writeUInt16LE(5, at + 2);
  buffer.writeUInt8(1, at + 4); // modification time present
  buffer.writeInt32LE(unixTime, at + 5);
  return at + EXTENDED_TIMESTAMP_LENGTH;
}

/**
 * Local file header. The CRC-32 is not known yet (it follows in the data descriptor, bit 3), but the
 * sizes are: they are written here too so that streaming readers can find the end of a STORED entry.
 */
export function localHeader(record: Omit<CentralRecord, 'crc' | 'offset'>): Buffer {
  const zip64 = isZip64Size(record.size);
  const buffer = Buffer.allocUnsafe(localHeaderLength(record.name.length, record.size));
  buffer.writeUInt32LE(LOCAL_HEADER_SIGNATURE, 0);
  buffer.writeUInt16LE(zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED_DEFAULT, 4);
  buffer.writeUInt16LE(FLAGS, 6);
  buffer.writeUInt16LE(METHOD_STORED, 8);
  buffer.writeUInt16LE(record.dosTime, 10);
  buffer.writeUInt16LE(record.dosDate, 12);
  buffer.writeUInt32LE(0, 14); // CRC-32: in the data descriptor
  buffer.writeUInt32LE(zip64 ? ZIP32_MAX : record.size, 18);
  buffer.writeUInt32LE(zip64 ? ZIP32_MAX : record.size, 22);
  buffer.writeUInt16LE(record.name.length, 26);
  buffer.writeUInt16LE(EXTENDED_TIMESTAMP_LENGTH + (zip64 ? LOCAL_ZIP64_EXTRA_LENGTH : 0), 28);
  record.name.copy(buffer, LOCAL_HEADER_FIXED);
  let at = writeExtendedTimestamp(buffer, record.unixTime, LOCAL_HEADER_FIXED + record.name.length);
  if (zip64) {
    buffer.writeUInt16LE(ZIP64_EXTRA_ID, at);
    buffer.writeUInt16LE(16, at + 2);
    at = writeUInt64(buffer, record.size, at + 4);
    writeUInt64(buffer, record.size, at);
  }
  return buffer;
}

export function dataDescriptor(crc: number, size: number): Buffer {
  const zip64 = isZip64Size(size);
  const buffer = Buffer.allocUnsafe(dataDescriptorLength(size));
  buffer.writeUInt32LE(DATA_DESCRIPTOR_SIGNATURE, 0);
  buffer.writeUInt32LE(crc, 4);
  if (zip64) {
    writeUInt64(buffer, size, 8);
    writeUInt64(buffer, size, 16);
  } else {
    buffer.writeUInt32LE(size, 8);
    buffer.writeUInt32LE(size, 12);
  }
  return buffer;
}

/** Writes the central directory header of `record` into `buffer` at `at`; returns the next position. */
export function writeCentralHeader(buffer: Buffer, record: CentralRecord, at: number): number {
  const zip64 = centralNeedsZip64(record.size, record.offset);
  buffer.writeUInt32LE(CENTRAL_HEADER_SIGNATURE, at);
  buffer.writeUInt16LE(VERSION_MADE_BY, at + 4);
  buffer.writeUInt16LE(zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED_DEFAULT, at + 6);
  buffer.writeUInt16LE(FLAGS, at + 8);
  buffer.writeUInt16LE(METHOD_STORED, at + 10);
  buffer.writeUInt16LE(record.dosTime, at + 12);
  buffer.writeUInt16LE(record.dosDate, at + 14);
  buffer.writeUInt32LE(record.crc, at + 16);
  buffer.writeUInt32LE(zip64 ? ZIP32_MAX : record.size, at + 20);
  buffer.writeUInt32LE(zip64 ? ZIP32_MAX : record.size, at + 24);
  buffer.writeUInt16LE(record.name.length, at + 28);
  buffer.writeUInt16LE(EXTENDED_TIMESTAMP_LENGTH + (zip64 ? CENTRAL_ZIP64_EXTRA_LENGTH : 0), at + 30);
  buffer.writeUInt16LE(0, at + 32); // comment length
  buffer.writeUInt16LE(0, at + 34); // disk number start
  buffer.writeUInt16LE(0, at + 36); // internal attributes
  buffer.writeUInt32LE(EXTERNAL_ATTRIBUTES, at + 38);
  buffer.writeUInt32LE(zip64 ? ZIP32_MAX : record.offset, at + 42);
  let position = at + CENTRAL_HEADER_FIXED;
  position += record.name.copy(buffer, position);
  position = writeExtendedTimestamp(buffer, record.unixTime, position);
  if (zip64) {
    // APPNOTE order: uncompressed size, compressed size, local header offset.
    buffer.writeUInt16LE(ZIP64_EXTRA_ID, position);
    buffer.writeUInt16LE(CENTRAL_ZIP64_EXTRA_LENGTH - 4, position + 2);
    position = writeUInt64(buffer, record.size, position + 4);
    position = writeUInt64(buffer, record.size, position);
    position = writeUInt64(buffer, record.offset, position);
  }
  return position;
}

/** ZIP64 end of central directory record + locator (when needed) and the end of central directory record. */
export function endRecords(entryCount: number, directorySize: number, directoryOffset: number): Buffer {
  const buffer = Buffer.alloc(endRecordsLength(entryCount, directorySize, directoryOffset));
  let at = 0;
  if (needsZip64End(entryCount, directorySize, directoryOffset)) {
    const zip64EndOffset = directoryOffset + directorySize;
    buffer.writeUInt32LE(ZIP64_END_SIGNATURE, 0);
    writeUInt64(buffer, ZIP64_END_LENGTH - 12, 4); // size of the rest of this record
    buffer.writeUInt16LE(VERSION_MADE_BY, 12);
    buffer.writeUInt16LE(VERSION_NEEDED_ZIP64, 14);
    buffer.writeUInt32LE(0, 16); // this disk
    buffer.writeUInt32LE(0, 20); // disk with the central directory
    writeUInt64(buffer, entryCount, 24);
    writeUInt64(buffer, entryCount, 32);
    writeUInt64(buffer, directorySize, 40);
    writeUInt64(buffer, directoryOffset, 48);
    at = ZIP64_END_LENGTH;
    buffer.writeUInt32LE(ZIP64_LOCATOR_SIGNATURE, at);
    buffer.writeUInt32LE(0, at + 4); // disk with the ZIP64 end record
    writeUInt64(buffer, zip64EndOffset, at + 8);
    buffer.writeUInt32LE(1, at + 16); // total disks
    at += ZIP64_LOCATOR_LENGTH;
  }
  buffer.writeUInt32LE(END_SIGNATURE, at);
  buffer.writeUInt16LE(0, at + 4); // this disk
  buffer.writeUInt16LE(0, at + 6); // disk with the central directory
  buffer.writeUInt16LE(Math.min(entryCount, ZIP16_MAX), at + 8);
  buffer.writeUInt16LE(Math.min(entryCount, ZIP16_MAX), at + 10);
  buffer.writeUInt32LE(Math.min(directorySize, ZIP32_MAX), at + 12);
  buffer.writeUInt32LE(Math.min(directoryOffset, ZIP32_MAX), at + 16);
  buffer.writeUInt16LE(0, at + 20); // comment length
  return buffer;
}

/**
 * Running total of an archive's size, entry by entry, without writing anything: the exact number of
 * bytes {@link writeZip} produces for the same names and sizes.
 */
export class ZipSizeCounter {
  #entriesBytes = 0; // local headers + data + data descriptors: also the central directory offset
  #directoryBytes = 0;
  #entryCount = 0;

  get entryCount(): number {
    return this.#entryCount;
  }

  /** Size of the archive with the entries added so far. */
  get total(): number {
    return (
      this.#entriesBytes +
      this.#directoryBytes +
      endRecordsLength(this.#entryCount, this.#directoryBytes, this.#entriesBytes)
    );
  }

  /** Size the archive would have with one more entry (the counter is unchanged). */
  totalWith(nameLength: number, size: number): number {
    const entriesBytes = this.#entriesBytes + localHeaderLength(nameLength, size) + size + dataDescriptorLength(size);
    const directoryBytes = this.#directoryBytes + centralHeaderLength(nameLength, size, this.#entriesBytes);
    return entriesBytes + directoryBytes + endRecordsLength(this.#entryCount + 1, directoryBytes, entriesBytes);
  }

  add(nameLength: number, size: number): void {
    this.#directoryBytes += centralHeaderLength(nameLength, size, this.#entriesBytes);
    this.#entriesBytes += localHeaderLength(nameLength, size) + size + dataDescriptorLength(size);
    this.#entryCount += 1;
  }
}
