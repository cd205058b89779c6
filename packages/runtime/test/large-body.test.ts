import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createHttpApp, slicedBody } from '../src/index.ts';

describe('slicedBody', () => {
  it('should hand a small body over as it is and a large one as slices that add up to it', async () => {
    const small = randomBytes(1000);
    expect(slicedBody(small, 4096)).toBe(small);
    const large = randomBytes(10 * 4096 + 7);
    const stream = slicedBody(large, 4096);
    expect(stream).toBeInstanceOf(Readable);
    const slices = await (stream as Readable).toArray();
    expect(slices).toHaveLength(11);
    expect(Buffer.concat(slices).equals(large)).toBe(true);
  });

  it('should send a sliced body with its length, whole, and nothing for HEAD', async () => {
    const app = createHttpApp({ logger: false });
    const large = randomBytes(1_000_000);
    app.get('/big', (_req, reply) =>
      reply.type('application/octet-stream').header('content-length', String(large.length)).send(slicedBody(large)),
    );
    try {
      const res = await app.inject('/big');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe(String(large.length));
      expect(res.headers['transfer-encoding']).toBeUndefined();
      expect(res.rawPayload.equals(large)).toBe(true);
      const head = await app.inject({ method: 'HEAD', url: '/big' });
      expect(head.statusCode).toBe(200);
      expect(head.rawPayload.length).toBe(0);
      expect(head.headers['content-length']).toBe(String(large.length));
    } finally {
      await app.close();
    }
  });
});
