import { Readable } from 'node:stream';

/**
 * A large body held in memory, written a slice at a time (issue 17: no event-loop stall over 10 ms). Sent whole,
 * each response's bytes are copied into its socket in the turn that sends it: 50 recipients asking for a 1.2 MB
 * `/me` at once copied ~60 MB in one turn of the loop (event-loop p99 25 ms on the gateway benchmark). As a
 * stream of slices, each socket takes one slice per turn and the next when it has room: the same bytes, the
 * same number of copies, spread over turns, so a thumbnail asked meanwhile is not kept waiting.
 */
export const BODY_SLICE_BYTES = 128 * 1024;

/** `bytes` as a stream of BODY_SLICE_BYTES slices (views, not copies), or the buffer itself when it is small. */
export function slicedBody(bytes: Buffer, sliceBytes = BODY_SLICE_BYTES): Buffer | Readable {
  if (bytes.length <= sliceBytes) return bytes;
  let offset = 0;
  return new Readable({
    highWaterMark: sliceBytes,
    read() {
      const end = Math.min(offset + sliceBytes, bytes.length);
      this.push(bytes.subarray(offset, end));
      offset = end;
      if (offset >= bytes.length) this.push(null);
    },
  });
}
