export * from './shared-link-rules.ts';
