import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/core/net.js';
import { CircuitBreaker } from '../../src/users/provisioners/index.js';
import { HttpProvisioner } from '../../src/users/provisioners/http.js';
import { ProvisionError, type ProvisionRequest } from '../../src/users/provisioners/types.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { startAuthDouble } from './support/librechat-auth-double.js';
import { librechatUserModel } from './support/librechat-models.js';

const { url: mongoUrl, reason } = mongoServer();

function request(email: string, overrides: Partial<ProvisionRequest> = {}): ProvisionRequest {
  return { supabaseUserId: email, email, name: 'Some Body', username: email.split('@')[0]!, password: 'Generated-password-0123456789', tenantId: null, ...overrides };
}

describe.skipIf(!mongoUrl)(`http provisioner against LibreChat's register/login semantics${mongoUrl ? '' : ` (skipped: ${reason})`}`, () => {
  let models: Awaited<ReturnType<typeof librechatUserModel>>;
  let double: Awaited<ReturnType<typeof startAuthDouble>>;

  beforeAll(async () => {
    models = await librechatUserModel(mongoDatabaseUrl(mongoUrl!, 'users_http'));
    double = await startAuthDouble(models.User);
  });
  afterAll(async () => {
    await double?.close();
    await models?.connection.close();
  });

  it('registers, then logs in to learn the id; a rerun (existing email answers 200) finds the same user', async () => {
    const provisioner = new HttpProvisioner({ baseUrl: double.url });
    await provisioner.check();
    const first = await provisioner.provision(request('carol@example.com'));
    const doc = await models.User.findOne({ email: 'carol@example.com' }).lean<Record<string, any>>();
    expect(first.librechatUserId).toBe(String(doc!._id));
    const again = await provisioner.provision(request('carol@example.com'));
    expect(again.librechatUserId).toBe(first.librechatUserId);
    expect(await models.User.countDocuments({ email: 'carol@example.com' })).toBe(1);
  });

  it('an existing account with another password: clear, non-retryable error pointing to the mongo provisioner', async () => {
    await models.User.create({ email: 'dave@example.com', name: 'Dave', username: 'dave', provider: 'local', password: '$2b$10$abcdefghijklmnopqrstuuJ0Q8vHh8b5M5l7r6n1oQ9f3u0n2rK1y', emailVerified: true });
    const error = await new HttpProvisioner({ baseUrl: double.url }).provision(request('dave@example.com')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).retryable).toBe(false);
    expect((error as Error).message).toMatch(/already has an account for this email with another password.*--provisioner mongo/);
  });

  it('429: waits out Retry-After when short, explains REGISTER_MAX / REGISTER_WINDOW when too long', async () => {
    const waits: number[] = [];
    double.settings.registerMax = 0;
    double.settings.registerWindowSeconds = 2;
    const patient = new HttpProvisioner({
      baseUrl: double.url,
      sleep: async (ms) => {
        waits.push(ms);
        double.settings.registerMax = 100; // the window passed
      },
    });
    const ok = await patient.provision(request('erin@example.com'));
    expect(ok.librechatUserId).toMatch(/^[0-9a-f]{24}$/);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(0);

    double.settings.registerMax = 0;
    double.settings.registerWindowSeconds = 3600;
    const error = await new HttpProvisioner({ baseUrl: double.url, maxRateLimitWaitMs: 60_000 }).provision(request('frank@example.com')).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/rate-limited \/api\/auth\/register \(429, retry in \d+ s\).*REGISTER_MAX.*REGISTER_WINDOW.*--provisioner mongo/);
    expect((error as ProvisionError).retryable).toBe(false);
    double.settings.registerMax = 1000;
  });

  it('403 explains ALLOW_REGISTRATION; 404 explains the validation rules; SSO users are refused', async () => {
    double.settings.allowRegistration = false;
    const disabled = await new HttpProvisioner({ baseUrl: double.url }).provision(request('gina@example.com')).catch((e: unknown) => e);
    expect((disabled as Error).message).toMatch(/403.*registration is disabled.*ALLOW_REGISTRATION=true/);
    double.settings.allowRegistration = true;

    const invalid = await new HttpProvisioner({ baseUrl: double.url }).provision(request('hank@example.com', { name: 'ab' })).catch((e: unknown) => e);
    expect((invalid as Error).message).toMatch(/404 is its validation failure: name 3–80 characters/);

    const sso = await new HttpProvisioner({ baseUrl: double.url }).provision(request('ivy@example.com', { password: null })).catch((e: unknown) => e);
    expect((sso as Error).message).toMatch(/cannot create SSO users/);
  });

  it('a closed port is retryable; the circuit breaker stops trying after 5 in a row', async () => {
    const port = await freePort();
    const breaker = new CircuitBreaker(new HttpProvisioner({ baseUrl: `http://127.0.0.1:${port}` }), 5, 60_000);
    const errors: ProvisionError[] = [];
    for (let i = 0; i < 7; i += 1) errors.push((await breaker.provision(request(`x${i}@example.com`)).catch((e: unknown) => e)) as ProvisionError);
    expect(errors.slice(0, 5).every((e) => e.retryable && /not reachable/.test(e.message))).toBe(true);
    expect(errors.slice(5).every((e) => !e.retryable && /LibreChat unreachable, not attempted/.test(e.message))).toBe(true);
    expect(breaker.isOpen).toBe(true);
  });
});
