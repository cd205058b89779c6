export * from './append.ts';
export * from './publisher.ts';
export * from './relay.ts';
export * from './webhook-audience.ts';
