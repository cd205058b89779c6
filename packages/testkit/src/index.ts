/** Ports for servers started a moment later: below the ephemeral range, reserved across processes (devstack). */
export { freePort } from '@immish/devstack';
export * from './database.ts';
export { runInFreshNode } from './fresh-node.ts';
export { startTestBacking, withDatabase } from './global-setup.ts';
export * from './outbox-faults.ts';
export { seededRandom } from './random.ts';
export * from './s3.ts';
export { serviceEnv } from './service-env.ts';
export * from './small-disk.ts';
