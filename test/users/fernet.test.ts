import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decrypt, encrypt, generateFernetKey, parseFernetKey, tokenTimestamp } from '../../src/users/fernet.js';

interface Vectors {
  generate: Array<{ secret: string; src: string; iv: number[]; now: number; token: string }>;
  decrypt: Array<{ secret: string; src: string; token: string }>;
  invalid: Array<{ desc: string; secret: string; token: string }>;
}

const vectors = JSON.parse(readFileSync(new URL('./fixtures/fernet-vectors.json', import.meta.url), 'utf8')) as Vectors;

/** Python's `cryptography` when importable: the independent implementation the Django side uses. */
const pythonCheck = spawnSync('python3', ['-c', 'import cryptography.fernet'], { encoding: 'utf8' });
const python = pythonCheck.status === 0 ? 'python3' : null;
const pythonSkipReason = 'python3 with the `cryptography` package is not available (pip install cryptography for a local check)';
if (!python) console.warn(`[fernet test] skipping Python interop: ${pythonSkipReason}`);

function runPython(script: string, input: unknown): unknown {
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' }));
}

describe('Fernet (byte-compatible with Python cryptography)', () => {
  it('generates exactly the fixture tokens from key, IV and time', () => {
    expect(vectors.generate.length).toBeGreaterThan(0);
    for (const vector of vectors.generate) {
      expect(encrypt(vector.secret, vector.src, { iv: Uint8Array.from(vector.iv), now: vector.now })).toBe(vector.token);
    }
  });

  it('decrypts every fixture token (generate and decrypt sets)', () => {
    for (const vector of [...vectors.generate, ...vectors.decrypt]) {
      expect(decrypt(vector.secret, vector.token)).toBe(vector.src);
    }
  });

  it('rejects every invalid fixture token with a clear error that does not echo the token', () => {
    expect(vectors.invalid.length).toBeGreaterThan(0);
    for (const vector of vectors.invalid) {
      let message = '';
      expect(() => {
        try {
          decrypt(vector.secret, vector.token);
        } catch (error) {
          message = (error as Error).message;
          expect((error as { code?: string }).code).toBe('LCS_FERNET_INVALID_TOKEN');
          throw error;
        }
      }, vector.desc).toThrow(/Cannot decrypt/);
      expect(message).not.toContain(vector.token.slice(10, 40));
    }
  });

  it('round-trips random and unicode plaintexts, including empty and block-sized ones', () => {
    const key = generateFernetKey();
    for (const text of ['', 'a', 'x'.repeat(16), 'y'.repeat(31), 'пароль ✓ 🔑', 'z'.repeat(1000)]) {
      expect(decrypt(key, encrypt(key, text))).toBe(text);
    }
  });

  it('honours ttl like Python: expired and far-future tokens are rejected', () => {
    const key = generateFernetKey();
    const token = encrypt(key, 'secret', { now: 1_000_000 });
    expect(tokenTimestamp(token)).toBe(1_000_000);
    expect(decrypt(key, token, { ttl: 100, now: 1_000_050 })).toBe('secret');
    expect(() => decrypt(key, token, { ttl: 100, now: 1_000_101 })).toThrow(/expired/);
    expect(() => decrypt(key, token, { ttl: 100, now: 1_000_000 - 61 })).toThrow(/future/);
  });

  it('a key that is not a Fernet key is a clear LcsError naming the variable', () => {
    for (const bad of ['', 'short', 'A'.repeat(44), generateFernetKey().slice(0, 43)]) {
      expect(() => parseFernetKey(bad)).toThrow(/LIBRECHAT_ENCRYPTION_KEY is not a Fernet key/);
    }
  });

  it('a token encrypted under another key fails with a "wrong key" explanation', () => {
    const token = encrypt(generateFernetKey(), 'pw');
    expect(() => decrypt(generateFernetKey(), token)).toThrow(/wrong LIBRECHAT_ENCRYPTION_KEY/);
  });

  describe.skipIf(!python)(`with real Python cryptography${python ? '' : ` (skipped: ${pythonSkipReason})`}`, () => {
    it('Python decrypts tokens we encrypt', () => {
      const cases = Array.from({ length: 20 }, (_, i) => {
        const key = generateFernetKey();
        const src = `pw-${i}-✓-${'q'.repeat(i * 3)}`;
        return { key, src, token: encrypt(key, src) };
      });
      const decrypted = runPython(
        'import json,sys\nfrom cryptography.fernet import Fernet\ncases=json.load(sys.stdin)\nprint(json.dumps([Fernet(c["key"].encode()).decrypt(c["token"].encode()).decode() for c in cases]))',
        cases,
      ) as string[];
      expect(decrypted).toEqual(cases.map((c) => c.src));
    });

    it('we decrypt tokens Python encrypts (and Python rejects our token under a wrong key)', () => {
      const made = runPython(
        'import json,sys\nfrom cryptography.fernet import Fernet\nout=[]\nfor i in range(20):\n  k=Fernet.generate_key()\n  s="py-"+str(i)+"-ключ"*i\n  out.append({"key":k.decode(),"src":s,"token":Fernet(k).encrypt(s.encode()).decode()})\nprint(json.dumps(out))',
        null,
      ) as Array<{ key: string; src: string; token: string }>;
      expect(made).toHaveLength(20);
      for (const c of made) expect(decrypt(c.key, c.token)).toBe(c.src);

      const rejected = runPython(
        'import json,sys\nfrom cryptography.fernet import Fernet, InvalidToken\nc=json.load(sys.stdin)\ntry:\n  Fernet(c["key"].encode()).decrypt(c["token"].encode()); print("false")\nexcept InvalidToken:\n  print("true")',
        { key: generateFernetKey(), token: encrypt(generateFernetKey(), 'x') },
      );
      expect(rejected).toBe(true);
    });
  });
});
