export * from './database.ts';
export { withDatabase } from './global-setup.ts';
export * from './outbox-faults.ts';
export * from './s3.ts';
export { serviceEnv } from './service-env.ts';
export * from './small-disk.ts';
