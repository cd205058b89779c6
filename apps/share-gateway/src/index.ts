export { buildApp, type GatewayApp, type GatewayDeps } from './app.ts';
export { type ActiveLink, credentialOf, type LinkCredential, type LinkLookup, LinkResolver } from './link-resolver.ts';
export { type GatewayContext, isUnlocked, requireRecipient } from './recipient.ts';
export { UnlockThrottle, UnlockTokens, unlockCookieName } from './unlock.ts';
