export * from './binaries.ts';
export * from './postgres.ts';
export * from './redis.ts';
export * from './redis-topologies.ts';
export * from './wait.ts';
