import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/core/net.js';
import { MongoProvisioner } from '../../src/users/provisioners/mongo.js';
import { ProvisionError, type ProvisionRequest } from '../../src/users/provisioners/types.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { librechatUserModel } from './support/librechat-models.js';

const { url: mongoUrl, reason } = mongoServer();

function request(email: string, overrides: Partial<ProvisionRequest> = {}): ProvisionRequest {
  return { supabaseUserId: email, email, name: `Name ${email}`, username: email.split('@')[0]!, password: 'Secret-password-123', tenantId: null, ...overrides };
}

describe.skipIf(!mongoUrl)(`mongo provisioner on a real Mongo-wire server with LibreChat's User model${mongoUrl ? '' : ` (skipped: ${reason})`}`, () => {
  const url = mongoUrl ? mongoDatabaseUrl(mongoUrl, 'users_prov') : '';
  let provisioner: MongoProvisioner;
  let User: Awaited<ReturnType<typeof librechatUserModel>>['User'];
  let close: () => Promise<void>;

  beforeAll(async () => {
    provisioner = new MongoProvisioner({ uri: url });
    const models = await librechatUserModel(url);
    User = models.User;
    close = () => models.connection.close();
  });
  afterAll(async () => {
    await provisioner?.close();
    await close?.();
  });

  it('creates a password user LibreChat can log in: lower-case email, local provider, USER role, verified, bcrypt cost 10', async () => {
    await provisioner.check();
    const result = await provisioner.provision(request('alice@example.com'));
    expect(result.adopted).toBe(false);
    const user = await User.findOne({ email: 'alice@example.com' }).select('+password').lean<Record<string, any>>();
    expect(user).toBeTruthy();
    expect(String(user!._id)).toBe(result.librechatUserId);
    expect(user).toMatchObject({ email: 'alice@example.com', provider: 'local', role: 'USER', emailVerified: true, username: 'alice', name: 'Name alice@example.com' });
    expect(user!.password).toMatch(/^\$2[aby]\$10\$/);
    expect(await bcrypt.compare('Secret-password-123', user!.password)).toBe(true);
    // The unique {email, tenantId} index LibreChat relies on exists.
    const indexes = await User.collection.listIndexes().toArray();
    expect(indexes.some((index) => index.unique && Object.keys(index.key)[0] === 'email')).toBe(true);
  });

  it('adopts a user LibreChat already has (same email) instead of duplicating it, and sets the stored password', async () => {
    const existing = await User.create({ email: 'bob@example.com', name: 'Bob', username: 'bob', provider: 'local', emailVerified: false });
    const result = await provisioner.provision(request('bob@example.com', { password: 'Another-password-456' }));
    expect(result).toEqual({ librechatUserId: String(existing._id), adopted: true });
    expect(await User.countDocuments({ email: 'bob@example.com' })).toBe(1);
    const bob = await User.findById(existing._id).select('+password').lean<Record<string, any>>();
    expect(bob!.name).toBe('Bob');
    expect(await bcrypt.compare('Another-password-456', bob!.password)).toBe(true);
  });

  it('twenty concurrent provisions of one email give one LibreChat user', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => provisioner.provision(request('race@example.com'))));
    expect(new Set(results.map((r) => r.librechatUserId)).size).toBe(1);
    expect(await User.countDocuments({ email: 'race@example.com' })).toBe(1);
  });

  it('two provisioners (two connections) racing on one email: the unique index makes the loser adopt the winner', async () => {
    const other = new MongoProvisioner({ uri: url });
    try {
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => (i % 2 ? other : provisioner).provision(request('cross@example.com', { tenantId: 'org_race', password: i % 4 < 2 ? null : 'Secret-password-123' }))),
      );
      expect(new Set(results.map((r) => r.librechatUserId)).size).toBe(1);
      expect(await User.countDocuments({ email: 'cross@example.com' })).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('SSO users (no password) are written in bulk, adopt existing ones, and carry the tenant', async () => {
    const pre = await User.create({ email: 'sso-3@example.com', name: 'Pre', username: 'pre', provider: 'openid', emailVerified: true });
    const emails = Array.from({ length: 300 }, (_, i) => `sso-${i}@example.com`);
    const started = Date.now();
    const results = await Promise.all(emails.map((email) => provisioner.provision(request(email, { password: null }))));
    const elapsed = Date.now() - started;
    expect(results).toHaveLength(300);
    expect(results.filter((r) => r.adopted)).toHaveLength(1);
    expect(results[3]!.librechatUserId).toBe(String(pre._id));
    expect(await User.countDocuments({ email: { $in: emails } })).toBe(300);
    const sample = await User.findOne({ email: 'sso-10@example.com' }).select('+password').lean<Record<string, any>>();
    expect(sample).toMatchObject({ provider: 'openid', role: 'USER', emailVerified: true });
    expect(sample!.password).toBeUndefined();
    expect(elapsed).toBeLessThan(30_000);

    const tenant = await provisioner.provision(request('tenant-user@example.com', { tenantId: 'org_a', password: null }));
    const again = await provisioner.provision(request('tenant-user@example.com', { tenantId: 'org_b', password: null }));
    expect(again.librechatUserId).not.toBe(tenant.librechatUserId);
    const docs = await User.find({ email: 'tenant-user@example.com' }).lean<Array<Record<string, any>>>();
    expect(docs.map((d) => d.tenantId).sort()).toEqual(['org_a', 'org_b']);
  });

  it('an unreachable MongoDB is a retryable ProvisionError and a failed check names LIBRECHAT_MONGO_URI', async () => {
    const port = await freePort();
    const down = new MongoProvisioner({ uri: `mongodb://127.0.0.1:${port}/LibreChat`, serverSelectionTimeoutMS: 500 });
    try {
      await expect(down.check()).rejects.toThrow(/LIBRECHAT_MONGO_URI/);
      const error = await down.provision(request('x@example.com', { password: null })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProvisionError);
      expect((error as ProvisionError).retryable).toBe(true);
    } finally {
      await down.close();
    }
  });
});
