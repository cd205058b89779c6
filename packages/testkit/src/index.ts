export * from './database.ts';
export { withDatabase } from './global-setup.ts';
export * from './outbox-faults.ts';
export * from './s3.ts';
export * from './small-disk.ts';
