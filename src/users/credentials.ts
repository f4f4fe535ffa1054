import { randomBytes } from 'node:crypto';
import type { Queryable } from '../core/database.js';
import { LcsError } from '../core/errors.js';
import { decrypt, parseFernetKey } from './fernet.js';
import { sampleEncryptedPasswords } from './links.js';

/** A LibreChat password for a provisioned user: 192 random bits, 32 URL-safe characters (LibreChat allows 8–128). */
export function generateLibrechatPassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Checks LIBRECHAT_ENCRYPTION_KEY before any work: present, a Fernet key, and able to decrypt the passwords that
 * are already stored (a different key than the one that wrote them would make every stored password useless).
 */
export async function assertEncryptionKeyUsable(db: Queryable, key: string | undefined): Promise<{ checked: number }> {
  if (!key) {
    throw new LcsError('LCS_ENCRYPTION_KEY_MISSING', 'LIBRECHAT_ENCRYPTION_KEY is not set: provisioned users\' LibreChat passwords are stored encrypted with it.', {
      hint: 'Set LIBRECHAT_ENCRYPTION_KEY (the Django side\'s key if it already stores passwords; a new one from `npx librechat-supabase secrets` otherwise), or sync SSO users with --no-password.',
    });
  }
  parseFernetKey(key);
  const tokens = await sampleEncryptedPasswords(db);
  const unreadable = tokens.filter((token) => {
    try {
      decrypt(key, token);
      return false;
    } catch {
      return true;
    }
  }).length;
  if (unreadable > 0) {
    throw new LcsError(
      'LCS_ENCRYPTION_KEY_MISMATCH',
      `LIBRECHAT_ENCRYPTION_KEY cannot decrypt ${unreadable} of ${tokens.length} stored LibreChat passwords: it is not the key that encrypted them. Nothing was changed.`,
      {
        hint:
          'Use the key the passwords were written with (the Django side\'s LIBRECHAT_ENCRYPTION_KEY). If that key is lost, clear the ' +
          'unreadable tokens (update lcs_users.librechat_links set librechat_password_encrypted = null) and run `users sync --force` to issue new passwords.',
      },
    );
  }
  return { checked: tokens.length };
}
