import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { PermanentError } from '../errors/permanent-error.js';

/*
 * Endpoint secrets at rest. A webhook secret cannot be stored as a hash like an API key: the
 * notifier needs it to sign. With LINEBACKER_WEBHOOK_SECRET_KEY set (32 random bytes, base64) each
 * secret is stored sealed with AES-256-GCM (a fresh IV per secret, its endpoint id as associated
 * data, so a sealed secret copied to another row does not open), and a copy of the database alone
 * (a backup, a dump) cannot forge webhooks. Without the key secrets are stored as they are.
 */

const SEALED_PREFIX = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The sealing key of a LINEBACKER_WEBHOOK_SECRET_KEY value (base64 of 32 bytes); undefined for none. */
export function webhookSecretKey(base64: string | undefined): Buffer | undefined {
  if (base64 === undefined) return undefined;
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new RangeError('a webhook secret key is 32 bytes, base64-encoded');
  return key;
}

/** What to store for `secret`: sealed when there is a key, else the secret itself. */
export function sealWebhookSecret(secret: string, endpointId: string, key: Buffer | undefined): string {
  if (!key) return secret;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(endpointId));
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

/**
 * The secret of a stored value (sealed or not). A sealed one needs the key it was sealed with:
 * without a key, or with another one, this throws a PermanentError (retrying cannot help).
 */
export function openWebhookSecret(stored: string, endpointId: string, key: Buffer | undefined): string {
  if (!stored.startsWith(SEALED_PREFIX)) return stored;
  if (!key) throw new PermanentError('the endpoint secret is sealed and LINEBACKER_WEBHOOK_SECRET_KEY is not set');
  const bytes = Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(endpointId));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new PermanentError('the endpoint secret does not open with LINEBACKER_WEBHOOK_SECRET_KEY (another key?)', { cause: err });
  }
}
