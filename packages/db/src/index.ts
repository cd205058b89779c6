export * from './batcher.ts';
export * from './ids.ts';
export * from './migrate.ts';
export * from './outbox/index.ts';
export * from './pool.ts';
export * from './prepared.ts';
export * from './schema.ts';
export * from './timestamps.ts';
