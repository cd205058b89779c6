import { randomBytes } from 'node:crypto';

let lastMs = -1;
let sequence = 0;

/**
 * RFC 9562 UUIDv7: 48-bit ms timestamp + random; time-ordered ids for outbox events.
 * Monotonic within a process (RFC 9562 §6.2 method 1: a 12-bit counter in `rand_a`), so events written
 * in the same millisecond (one transaction's batch) keep their order when sorted by id.
 */
export function uuidv7(now: number = Date.now()): string {
  let ms = now;
  if (ms <= lastMs) {
    ms = lastMs;
    sequence += 1;
    if (sequence > 0xfff) {
      ms = lastMs + 1;
      sequence = 0;
    }
  } else {
    sequence = 0;
  }
  lastMs = ms;
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | ((sequence >> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
