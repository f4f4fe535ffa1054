import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LcsError } from '../core/errors.js';

/**
 * Fernet (https://github.com/fernet/spec), byte-compatible with Python `cryptography`'s `Fernet`, so a token written
 * by a Django side decrypts here and ours decrypt there. Only node:crypto is used.
 *
 * token = base64url( 0x80 | timestamp u64 BE | IV 16 | AES-128-CBC(PKCS7) ciphertext | HMAC-SHA256 32 )
 * key   = base64url( signing key 16 | encryption key 16 )
 */

const VERSION = 0x80;
const HEADER_BYTES = 1 + 8 + 16;
const HMAC_BYTES = 32;
const BLOCK = 16;
/** Python's Fernet rejects tokens stamped more than 60 s in the future when a ttl is checked. */
const MAX_CLOCK_SKEW_SECONDS = 60;

export interface FernetKey {
  signingKey: Buffer;
  encryptionKey: Buffer;
}

export interface EncryptOptions {
  /** 16 bytes; random when absent (only tests pass a fixed one). */
  iv?: Uint8Array;
  /** Seconds since the epoch stamped into the token; default now. */
  now?: number;
}

export interface DecryptOptions {
  /** Reject tokens older than this many seconds (as Python's `decrypt(token, ttl)`). */
  ttl?: number;
  /** Seconds since the epoch used for the ttl check; default now. */
  now?: number;
}

/** Parses a Fernet key (44 characters of URL-safe base64, as `Fernet.generate_key()` prints). */
export function parseFernetKey(key: string | FernetKey): FernetKey {
  if (typeof key !== 'string') return key;
  const trimmed = key.trim();
  const bytes = /^[A-Za-z0-9_-]{43}=$/.test(trimmed) ? Buffer.from(trimmed, 'base64url') : Buffer.alloc(0);
  if (bytes.length !== 32) {
    throw new LcsError('LCS_ENCRYPTION_KEY_INVALID', 'LIBRECHAT_ENCRYPTION_KEY is not a Fernet key (32 bytes of URL-safe base64, 44 characters ending in "=").', {
      hint: 'Generate one with `npx librechat-supabase secrets` or Python `Fernet.generate_key()`; use the same key as the Django side if it already stores passwords.',
    });
  }
  return { signingKey: bytes.subarray(0, 16), encryptionKey: bytes.subarray(16, 32) };
}

/** A new random Fernet key in the textual form Python uses. */
export function generateFernetKey(): string {
  return randomBytes(32).toString('base64url') + '=';
}

export function encrypt(key: string | FernetKey, plaintext: string | Uint8Array, options: EncryptOptions = {}): string {
  const { signingKey, encryptionKey } = parseFernetKey(key);
  const iv = options.iv ? Buffer.from(options.iv) : randomBytes(16);
  if (iv.length !== 16) throw new LcsError('LCS_FERNET_IV', 'A Fernet IV must be 16 bytes.');
  const now = Math.floor(options.now ?? Date.now() / 1000);

  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(now), 1);
  iv.copy(header, 9);

  const cipher = createCipheriv('aes-128-cbc', encryptionKey, iv);
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : Buffer.from(plaintext);
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  const signed = Buffer.concat([header, ciphertext]);
  const mac = createHmac('sha256', signingKey).update(signed).digest();
  // Python keeps the "=" padding in its URL-safe base64; Node's base64url drops it, so convert.
  return Buffer.concat([signed, mac]).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Decrypts to bytes; throws LcsError LCS_FERNET_INVALID_TOKEN (never echoing the token) for any invalid token. */
export function decryptBytes(key: string | FernetKey, token: string, options: DecryptOptions = {}): Buffer {
  const { signingKey, encryptionKey } = parseFernetKey(key);
  const data = decodeToken(token);
  if (data.length < HEADER_BYTES + BLOCK + HMAC_BYTES || (data.length - HEADER_BYTES - HMAC_BYTES) % BLOCK !== 0) {
    throw invalidToken('it is too short or truncated');
  }
  if (data[0] !== VERSION) throw invalidToken('its version byte is not 0x80');

  if (options.ttl !== undefined) {
    const stamped = Number(data.readBigUInt64BE(1));
    const now = Math.floor(options.now ?? Date.now() / 1000);
    if (stamped + options.ttl < now) throw invalidToken('it has expired');
    if (now + MAX_CLOCK_SKEW_SECONDS < stamped) throw invalidToken('it is stamped in the future');
  }

  const signed = data.subarray(0, data.length - HMAC_BYTES);
  const expected = createHmac('sha256', signingKey).update(signed).digest();
  if (!timingSafeEqual(expected, data.subarray(data.length - HMAC_BYTES))) {
    throw invalidToken('its signature does not match this key (wrong LIBRECHAT_ENCRYPTION_KEY or a tampered token)');
  }

  const decipher = createDecipheriv('aes-128-cbc', encryptionKey, data.subarray(9, HEADER_BYTES));
  try {
    return Buffer.concat([decipher.update(data.subarray(HEADER_BYTES, data.length - HMAC_BYTES)), decipher.final()]);
  } catch {
    throw invalidToken('its padding is invalid');
  }
}

export function decrypt(key: string | FernetKey, token: string, options: DecryptOptions = {}): string {
  return decryptBytes(key, token, options).toString('utf8');
}

/** The timestamp (seconds) stamped into a token, without verifying it. */
export function tokenTimestamp(token: string): number {
  const data = decodeToken(token);
  if (data.length < 9 || data[0] !== VERSION) throw invalidToken('it is not a Fernet token');
  return Number(data.readBigUInt64BE(1));
}

function decodeToken(token: string): Buffer {
  const text = typeof token === 'string' ? token.trim() : '';
  // Python accepts the URL-safe and the standard alphabet with correct padding; anything else is not a token.
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9_\-+/]+={0,2}$/.test(text)) {
    throw invalidToken('it is not URL-safe base64');
  }
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function invalidToken(reason: string): LcsError {
  return new LcsError('LCS_FERNET_INVALID_TOKEN', `Cannot decrypt a stored LibreChat password: ${reason}.`);
}
