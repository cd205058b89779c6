export * from './common.ts';
export * from './config.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './http/users.ts';
export * from './queues.ts';
