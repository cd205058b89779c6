import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInFreshNode } from '@immish/testkit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The AWS SDK is loaded only by a store on S3 (s3-sdk.ts says why). Checked in a fresh Node process, as a service
 * starts: this test process has other modules loaded already. A module hook records every `@aws-sdk/…` import.
 */
const CHILD = `
import { registerHooks } from 'node:module';
const sdk = [];
registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('@aws-sdk/')) sdk.push(specifier);
    return next(specifier, context);
  },
});
const { createBlobStore } = await import('@immish/storage');
const fs = createBlobStore({ driver: 'fs', root: process.argv[1] });
await fs.put('a/b.txt', Buffer.from('hello'));
for await (const chunk of await fs.get('a/b.txt')) void chunk;
await fs.check();
await fs.close();
const afterFs = [...sdk];
const s3 = createBlobStore({ driver: 's3', bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, checksumMode: 'WHEN_REQUIRED' });
await s3.check().catch(() => {}); // nothing listens there: the call fails, after loading the SDK
await s3.close();
process.stdout.write(JSON.stringify({ afterFs, afterS3Ready: [...sdk] }));
`;

const root = mkdtempSync(join(tmpdir(), 'immish-lazy-sdk-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the AWS SDK', () => {
  it('should not be loaded by a service on fs storage, and should be by the first S3 store', async () => {
    const seen = await runInFreshNode<{ afterFs: string[]; afterS3Ready: string[] }>(CHILD, {
      cwd: join(import.meta.dirname, '..'),
      args: [root],
    });
    expect(seen.afterFs).toEqual([]);
    // building an S3 store starts loading the SDK (a service on S3 has it before it serves)
    expect(seen.afterS3Ready).toEqual(
      expect.arrayContaining(['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@aws-sdk/s3-request-presigner']),
    );
  });
});
