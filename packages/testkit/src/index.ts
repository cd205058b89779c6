export * from './database.ts';
export { withDatabase } from './global-setup.ts';
