export * from './app.ts';
export * from './byte-range.ts';
export * from './etag.ts';
export * from './fast-path.ts';
export * from './html.ts';
export * from './multipart.ts';
export * from './security-headers.ts';
export * from './serve-blob.ts';
