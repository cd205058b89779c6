/**
 * Apple's MakerNote ("Apple iOS\0", version, byte order, then an IFD whose offsets count from the MakerNote's
 * start): tag 0x0011 is the Live Photo content identifier (exiftool calls it ContentIdentifier or MediaGroupUUID),
 * the same UUID the paired MOV carries as `com.apple.quicktime.content.identifier`. Nothing else is read from it.
 */
const APPLE_HEADER = 'Apple iOS\0';
const CONTENT_IDENTIFIER_TAG = 0x0011;
const TYPE_ASCII = 2;

export function appleContentIdentifier(makerNote: unknown): string | null {
  if (!(makerNote instanceof Uint8Array) || makerNote.length < 16) return null;
  const note = Buffer.from(makerNote.buffer, makerNote.byteOffset, makerNote.byteLength);
  if (note.toString('latin1', 0, APPLE_HEADER.length) !== APPLE_HEADER) return null;
  const order = note.toString('latin1', 12, 14);
  if (order !== 'MM' && order !== 'II') return null;
  const little = order === 'II';
  const u16 = (at: number) => (little ? note.readUInt16LE(at) : note.readUInt16BE(at));
  const u32 = (at: number) => (little ? note.readUInt32LE(at) : note.readUInt32BE(at));
  const count = u16(14);
  for (let i = 0; i < count; i++) {
    const entry = 16 + i * 12;
    if (entry + 12 > note.length) return null;
    if (u16(entry) !== CONTENT_IDENTIFIER_TAG || u16(entry + 2) !== TYPE_ASCII) continue;
    const length = u32(entry + 4);
    const at = length <= 4 ? entry + 8 : u32(entry + 8);
    if (length > 256 || at + length > note.length) return null;
    const raw = note.toString('latin1', at, at + length);
    const end = raw.indexOf('\0');
    const value = (end === -1 ? raw : raw.slice(0, end)).trim();
    // printable ASCII only (a UUID in practice)
    return value.length > 0 && value.length <= 128 && [...value].every((c) => c > ' ' && c <= '~') ? value : null;
  }
  return null;
}
