/// <reference path="./s3rver.d.ts" />
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { StorageConfig } from '@immish/storage';
import S3rver from 's3rver';

export interface S3Emulator {
  endpoint: string;
  /** s3rver's data directory (its `<bucket>/._S3rver_uploads` folder shows unfinished multipart uploads) */
  dir: string;
  /** creates the bucket and returns the s3 driver config for it */
  bucket(name: string, opts?: { partSizeBytes?: number }): Promise<Extract<StorageConfig, { driver: 's3' }>>;
  close(): Promise<void>;
}

/**
 * s3rver 3.7.1 in this process on a random port, storing into a temp dir: the S3 protocol for tests
 * (a fake for the real store, which cannot run here). The SDK must send checksums only when required and use
 * path-style URLs with it, or streamed PutObject is silently corrupted.
 */
export async function startS3Emulator(): Promise<S3Emulator> {
  const dir = await mkdtemp(path.join(tmpdir(), 'immish-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    endpoint,
    dir,
    async bucket(name, opts = {}) {
      const admin = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
      try {
        await admin.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        admin.destroy();
      }
      return {
        driver: 's3',
        bucket: name,
        region: 'us-east-1',
        endpoint,
        ...credentials,
        forcePathStyle: true,
        checksumMode: 'WHEN_REQUIRED',
        ...(opts.partSizeBytes ? { partSizeBytes: opts.partSizeBytes } : {}),
      };
    },
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
