export * from './access.ts';
export * from './identity.ts';
export * from './users.ts';
