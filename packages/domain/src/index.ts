export * from './access.ts';
export * from './albums.ts';
export * from './assets.ts';
export * from './exports.ts';
export * from './identity.ts';
export * from './shared-links.ts';
export * from './uploads.ts';
export * from './users.ts';
