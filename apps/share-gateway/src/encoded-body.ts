import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { memoByText } from '@immish/runtime';

/**
 * A response body that is the same for every recipient of a link (the `/me` JSON of a big album: ~1.2 MB for
 * 1,000 assets), kept as bytes with its compressed forms made once, on first demand, and shared by every
 * request that follows. Browsers and Immich's apps accept gzip (browsers also Brotli): a phone on a slow
 * network then receives ~10× fewer bytes, and the server sends them from memory.
 */
export type ContentCoding = 'br' | 'gzip' | 'identity';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Below this, compressing saves less than its headers cost. */
const MIN_COMPRESS_BYTES = 1024;
/** Brotli 5 / gzip 6: ~10 ms each for 1 MB of JSON, within a few % of the best ratio on this kind of text. */
const BROTLI_QUALITY = 5;
const GZIP_LEVEL = 6;

/**
 * The coding to answer with, from an `Accept-Encoding` header (RFC 9110 §12.5.3): Brotli, else gzip, else
 * identity; `;q=0` refuses a coding, `*` stands for any coding not named.
 */
export function negotiateCoding(header: string | string[] | undefined): ContentCoding {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return 'identity';
  return negotiated(text);
}

/**
 * Accept-Encoding values seen, with their answer: a browser sends the same value on every request, and the
 * parse was a measurable part of a cached `/me` (issue 17). Bounded (runtime's memoByText).
 */
const negotiated = memoByText((text) => parseAcceptEncoding(text), { maxEntries: 256, maxKeyLength: 200 });

function parseAcceptEncoding(text: string): ContentCoding {
  const q = new Map<string, number>();
  for (const part of text.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(name, Number.isFinite(weight) ? weight : 0);
  }
  const accepts = (coding: string) => (q.get(coding) ?? q.get('*') ?? 0) > 0;
  if (accepts('br')) return 'br';
  if (accepts('gzip') || accepts('x-gzip')) return 'gzip';
  return 'identity';
}

export interface Encoded {
  coding: ContentCoding;
  bytes: Buffer;
}

export class EncodedBody {
  readonly identity: Buffer;
  #br: Promise<Buffer> | undefined;
  #gzip: Promise<Buffer> | undefined;
  /** the forms already made, for `ready` (an answer given from memory, without waiting) */
  readonly #made: Partial<Record<ContentCoding, Encoded>>;

  constructor(identity: Buffer) {
    this.identity = identity;
    this.#made = { identity: { coding: 'identity', bytes: identity } };
  }

  /**
   * Makes every compressed form now (on zlib's thread pool), so no request waits for one; resolves once they
   * are made (a failure is not remembered: that coding is tried again on demand).
   */
  async precompress(): Promise<void> {
    if (this.identity.length < MIN_COMPRESS_BYTES) return;
    await Promise.allSettled([this.#brotli(), this.#gzipped()]);
  }

  #brotli(): Promise<Buffer> {
    this.#br ??= brotli(this.identity, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } }).then(
      (bytes) => {
        this.#made.br = { coding: 'br', bytes };
        return bytes;
      },
      (e: unknown) => {
        this.#br = undefined; // not remembered: the next request tries again
        throw e;
      },
    );
    return this.#br;
  }

  #gzipped(): Promise<Buffer> {
    this.#gzip ??= gzipAsync(this.identity, { level: GZIP_LEVEL }).then(
      (bytes) => {
        this.#made.gzip = { coding: 'gzip', bytes };
        return bytes;
      },
      (e: unknown) => {
        this.#gzip = undefined;
        throw e;
      },
    );
    return this.#gzip;
  }

  /** The coding to answer this `Accept-Encoding` with. */
  #codingFor(acceptEncoding: string | string[] | undefined): ContentCoding {
    return this.identity.length < MIN_COMPRESS_BYTES ? 'identity' : negotiateCoding(acceptEncoding);
  }

  /** `encoded`, when that form is already made (else undefined: `encoded` makes it). */
  ready(acceptEncoding: string | string[] | undefined): Encoded | undefined {
    return this.#made[this.#codingFor(acceptEncoding)];
  }

  /** The bytes to send for this `Accept-Encoding`, and their coding. */
  async encoded(acceptEncoding: string | string[] | undefined): Promise<Encoded> {
    const coding = this.#codingFor(acceptEncoding);
    if (coding === 'br') return { coding, bytes: await this.#brotli() };
    if (coding === 'gzip') return { coding, bytes: await this.#gzipped() };
    return { coding, bytes: this.identity };
  }
}
