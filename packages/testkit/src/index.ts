export * from './database.ts';
export { withDatabase } from './global-setup.ts';
export * from './s3.ts';
