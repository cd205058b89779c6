/**
 * The AWS SDK's values the S3 driver uses, in one module of their own: s3-driver.ts imports it when the first S3
 * store is built, never at load. A service on fs storage (the default) therefore never loads the SDK, which costs
 * a process ~30 MiB of memory, ~0.25 s of start-up and a slower full garbage collection for its whole life
 * (docs/benchmarks.md "Footprint"). Types come from the SDK directly (`import type`, erased at run time).
 */
export {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
export { Upload } from '@aws-sdk/lib-storage';
export { getSignedUrl } from '@aws-sdk/s3-request-presigner';
