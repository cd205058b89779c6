import { Transform, type TransformCallback } from 'node:stream';
import { MediaError } from '../errors.ts';

type State =
  | { kind: 'collect'; want: number; have: number; pieces: Buffer[]; then: (bytes: Buffer) => void }
  | { kind: 'pass'; remaining: number; then: () => void }
  | { kind: 'skip'; remaining: number; then: () => void }
  | { kind: 'blank'; remaining: number; then: () => void }
  | { kind: 'custom' }
  | { kind: 'done' };

/**
 * A push parser for container formats as a Transform stream. Subclasses describe the format as
 * continuations: `collect(n, then)` gathers exactly n bytes (only ever a bounded header or segment),
 * `pass(n, then)` forwards n bytes untouched, `skip(n, then)` drops them, `blank(n, then)` turns
 * them into zeros, `finish()` drops whatever follows. Input may arrive in chunks of any size, down to single bytes, and nothing is ever
 * buffered beyond what a `collect` asked for, so memory is bounded by the largest collect, not by
 * the file. Any exception from a continuation fails the stream (as CORRUPT unless it is already a
 * MediaError), so a malformed file errors instead of hanging or leaking bytes.
 */
export abstract class ByteParser extends Transform {
  private state: State = { kind: 'done' };
  /** Bytes of input consumed so far, for error messages. */
  protected position = 0;
  private received = 0;

  /** Called once the first byte arrives; sets the first state. */
  protected abstract atStart(): void;
  /** Called at the end of the input; throws when the input ended too early. */
  protected abstract atEnd(): void;
  /** Called for `custom` states: consume from `chunk` at `offset`, return the new offset. */
  protected custom(_chunk: Buffer, _offset: number): number {
    throw new Error('no custom state in this parser');
  }

  protected readonly formatName: string;
  private begun = false;

  constructor(formatName: string) {
    super();
    this.formatName = formatName;
  }

  protected collect(want: number, then: (bytes: Buffer) => void): void {
    if (want === 0) {
      then(Buffer.alloc(0));
      return;
    }
    this.state = { kind: 'collect', want, have: 0, pieces: [], then };
  }

  protected pass(remaining: number, then: () => void): void {
    if (remaining === 0) {
      then();
      return;
    }
    this.state = { kind: 'pass', remaining, then };
  }

  protected skip(remaining: number, then: () => void): void {
    if (remaining === 0) {
      then();
      return;
    }
    this.state = { kind: 'skip', remaining, then };
  }

  /** Replaces the next `remaining` bytes by as many zero bytes. */
  protected blank(remaining: number, then: () => void): void {
    if (remaining === 0) {
      then();
      return;
    }
    this.state = { kind: 'blank', remaining, then };
  }

  protected enterCustom(): void {
    this.state = { kind: 'custom' };
  }

  /** The format's end was reached: whatever follows (trailers, appended files) is dropped. */
  protected finish(): void {
    this.state = { kind: 'done' };
  }

  protected get finished(): boolean {
    return this.state.kind === 'done';
  }

  protected output(bytes: Buffer): void {
    if (bytes.length > 0) this.push(bytes);
  }

  protected corrupt(detail: string): MediaError {
    return new MediaError('CORRUPT', `not a valid ${this.formatName} file: ${detail}`);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (!this.begun) {
        this.begun = true;
        this.atStart();
      }
      this.received += chunk.length;
      this.consume(chunk);
      callback();
    } catch (error) {
      callback(this.asMediaError(error));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.received === 0) throw new MediaError('EMPTY', `the ${this.formatName} file is empty (0 bytes)`);
      this.atEnd();
      callback();
    } catch (error) {
      callback(this.asMediaError(error));
    }
  }

  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const state = this.state;
      const before = offset;
      switch (state.kind) {
        case 'collect': {
          const take = Math.min(state.want - state.have, chunk.length - offset);
          state.pieces.push(chunk.subarray(offset, offset + take));
          state.have += take;
          offset += take;
          this.position += take;
          if (state.have === state.want) {
            const bytes = state.pieces.length === 1 ? (state.pieces[0] as Buffer) : Buffer.concat(state.pieces);
            state.then(bytes);
          }
          continue;
        }
        case 'pass':
        case 'skip':
        case 'blank': {
          const take = Math.min(state.remaining, chunk.length - offset);
          if (state.kind === 'pass') this.output(chunk.subarray(offset, offset + take));
          if (state.kind === 'blank') this.output(Buffer.alloc(take));
          state.remaining -= take;
          offset += take;
          this.position += take;
          if (state.remaining === 0) state.then();
          continue;
        }
        case 'custom':
          offset = this.custom(chunk, offset);
          this.position += offset - before;
          continue;
        case 'done':
          this.position += chunk.length - offset;
          return;
      }
    }
  }

  private asMediaError(error: unknown): MediaError {
    if (error instanceof MediaError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return new MediaError('CORRUPT', `not a valid ${this.formatName} file: ${detail}`, { cause: error });
  }
}
