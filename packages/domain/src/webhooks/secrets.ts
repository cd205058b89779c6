import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { unavailable } from '@immish/contracts';

/**
 * Webhook signing secrets (Standard Webhooks: `whsec_` + base64 of the key bytes) and their storage. The worker
 * must sign with the secret, so a hash would not do: it is sealed with AES-256-GCM under a key derived (HKDF) from
 * WEBHOOK_SECRET_KEY, so a copy of the database alone signs nothing. Shown to the owner once, at creation.
 */
const PREFIX = 'whsec_';

export function newWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The derived key of the last master key used: one per process in practice, derived once, not per attempt. */
let derived: { masterKey: string; key: KeyObject } | null = null;

function sealingKey(masterKey: string): KeyObject {
  if (!masterKey) throw unavailable('Webhooks are not configured on this server (WEBHOOK_SECRET_KEY is not set)', 60);
  if (derived?.masterKey !== masterKey) {
    const bytes = Buffer.from(hkdfSync('sha256', masterKey, 'immish', 'webhook signing secrets v1', 32));
    derived = { masterKey, key: createSecretKey(bytes) };
  }
  return derived.key;
}

/** `v1.<iv>.<ciphertext>.<tag>` (base64url parts). */
export function sealSecret(secret: string, masterKey: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(masterKey), iv);
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return ['v1', iv, body, cipher.getAuthTag()]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

export function openSecret(sealed: string, masterKey: string): string {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== 'v1' || !iv || !body || !tag) throw new Error('webhook secret: unknown sealing format');
  const decipher = createDecipheriv('aes-256-gcm', sealingKey(masterKey), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}

/** The Standard Webhooks headers of one attempt: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
export function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${mac}` };
}
