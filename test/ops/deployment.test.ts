import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { configSchema, endpointSchema } from 'librechat-data-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePort } from '../../src/core/net.js';
import { silentLogger } from '../../src/core/logger.js';
import { mergeEnvText, parseEnvText } from '../../src/ops/env-file.js';
import { generateSecrets, SECRET_SPECS } from '../../src/ops/secrets.js';
import { createSyncService, type SyncService } from '../../src/service/server.js';
import { createTestDatabase } from '../support/database.js';

const run = promisify(execFile);
const db = await createTestDatabase();
const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');
const composeDir = path.join(root, 'examples/docker-compose');
const read = (file: string) => readFileSync(file, 'utf8');

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string };
  restart?: string;
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number; start_period?: string };
  deploy?: { resources?: { limits?: { cpus?: string; memory?: string } } };
  mem_limit?: string;
  volumes?: string[];
  networks?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  extra_hosts?: string[];
  depends_on?: Record<string, { condition: string }>;
  logging?: { driver: string };
  network_mode?: string;
  privileged?: boolean;
};
type Compose = { name: string; services: Record<string, Service>; volumes: Record<string, unknown>; networks: Record<string, { driver?: string; internal?: boolean }> };

const composeText = read(path.join(composeDir, 'docker-compose.yml'));
const compose = YAML.parse(composeText) as Compose;
const envExampleText = read(path.join(composeDir, '.env.example'));
const envExample = parseEnvText(envExampleText);
const SECRET_NAMES = [...SECRET_SPECS.map((spec) => spec.name), 'SUPABASE_SERVICE_ROLE_KEY', 'SUPABASE_DB_URL'];

/** Strings that look like a real credential: long hex, long base64/base64url, JWTs, new Supabase keys, passwords in URLs. */
const secretLooking = [/\b[0-9a-f]{32,}\b/i, /(?=[A-Za-z0-9+/_-]{0,39}\d)(?=[A-Za-z0-9+/_-]{0,39}[A-Za-z])[A-Za-z0-9+/_-]{40,}={0,2}/, /eyJ[A-Za-z0-9_-]{10,}\./, /sb_(secret|publishable)_\w+/, /\w+:\/\/[^\s:/@]+:[^\s@/]+@/];

/** A compose value that only refers to a variable, e.g. `${JWT_SECRET:?message}` or `${X:-}`. */
const isReference = (value: string) => /^\$\{[A-Z0-9_]+(?::?[-?][^}]*)?\}$/.test(value);

describe('docker compose example', () => {
  const services = Object.entries(compose.services);

  it('runs the official LibreChat image pinned to a v0.8 release, MongoDB, Meilisearch, Redis and the sync node', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['lcs-sync', 'librechat', 'meilisearch', 'mongodb', 'redis']);
    expect(compose.services.librechat!.image).toMatch(/^ghcr\.io\/danny-avila\/librechat:v0\.8\.\d+$/);
    for (const [name, service] of services) {
      if (service.image && name !== 'lcs-sync') expect(service.image, name).not.toMatch(/:latest$|^[^:]+$/);
    }
    expect(compose.services['lcs-sync']!.build).toEqual({ context: '../..', dockerfile: 'Dockerfile' });
    expect(existsSync(path.resolve(composeDir, '../..', 'Dockerfile'))).toBe(true);
    expect(compose.services.librechat!.environment).toMatchObject({ USE_REDIS: 'true', REDIS_URI: 'redis://redis:6379', MONGO_URI: 'mongodb://mongodb:27017/LibreChat', MEILI_HOST: 'http://meilisearch:7700' });
  });

  it('every service has a health check, restart: unless-stopped, resource limits and log rotation', () => {
    for (const [name, service] of services) {
      expect(service.restart, name).toBe('unless-stopped');
      expect(service.healthcheck?.test?.[0], name).toMatch(/^CMD(-SHELL)?$/);
      expect(service.healthcheck?.test.length, name).toBeGreaterThan(1);
      expect(service.healthcheck?.interval, name).toMatch(/^\d+s$/);
      expect(service.healthcheck?.timeout, name).toMatch(/^\d+s$/);
      expect(service.healthcheck?.retries, name).toBeGreaterThan(0);
      const limits = service.deploy?.resources?.limits;
      expect(limits?.cpus ?? service.mem_limit, name).toBeTruthy();
      expect(limits?.memory ?? service.mem_limit, name).toMatch(/^\d+[MG]$/);
      expect(service.logging?.driver, name).toBe('json-file');
      expect(service.privileged, name).toBeUndefined();
      expect(service.network_mode, name).toBeUndefined();
    }
  });

  it('LibreChat and the sync node start after their data stores are healthy', () => {
    expect(compose.services.librechat!.depends_on).toEqual({
      mongodb: { condition: 'service_healthy' },
      meilisearch: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect(compose.services['lcs-sync']!.depends_on).toEqual({ mongodb: { condition: 'service_healthy' } });
  });

  it('data lives in named volumes; the only bind mount is the read-only librechat.yaml', () => {
    const named = Object.keys(compose.volumes);
    const used = new Set<string>();
    for (const [name, service] of services) {
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(':');
        if (source!.startsWith('.') || source!.startsWith('/')) {
          expect(volume, name).toBe('./librechat.yaml:/app/librechat.yaml:ro');
          expect(existsSync(path.join(composeDir, 'librechat.yaml'))).toBe(true);
        } else {
          expect(named, `${name}: ${volume}`).toContain(source);
          used.add(source!);
        }
      }
    }
    expect([...used].sort()).toEqual(named.sort());
    expect(compose.services.mongodb!.volumes).toEqual(['mongodb-data:/data/db']);
  });

  it('a private network: data stores only on an internal network, nothing but LibreChat and the sync node published, on loopback by default', () => {
    expect(compose.networks.data).toEqual({ driver: 'bridge', internal: true });
    expect(compose.networks.egress).toEqual({ driver: 'bridge' });
    for (const name of ['mongodb', 'meilisearch', 'redis']) {
      expect(compose.services[name]!.networks, name).toEqual(['data']);
      expect(compose.services[name]!.ports, name).toBeUndefined();
    }
    for (const [name, service] of services) {
      for (const network of service.networks ?? []) expect(Object.keys(compose.networks), name).toContain(network);
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^\$\{[A-Z_]+:-127\.0\.0\.1\}:/);
    }
  });

  it('Ollama on the host is reachable from LibreChat as host.docker.internal', () => {
    expect(compose.services.librechat!.extra_hosts).toEqual(['host.docker.internal:host-gateway']);
  });

  it('no secret literal anywhere in the compose file; secrets are references that fail fast when missing', () => {
    for (const pattern of secretLooking) expect(composeText).not.toMatch(pattern);
    for (const [name, service] of services) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (/(SECRET|KEY|TOKEN|PASSWORD|_IV|DB_URL)$/.test(variable)) expect(isReference(String(value)), `${name}.${variable}=${value}`).toBe(true);
      }
    }
    expect(compose.services.librechat!.environment!.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?.*secrets --write \.env\}$/);
    // Least privilege: LibreChat's own secrets never reach the sync node.
    const syncEnv = Object.keys(compose.services['lcs-sync']!.environment ?? {});
    expect(syncEnv).not.toContain('JWT_SECRET');
    expect(syncEnv).not.toContain('CREDS_KEY');
    expect(compose.services['lcs-sync']!.env_file).toBeUndefined();
  });

  it('the health check one-liners work against a live /health and fail against a closed port', async () => {
    const syncCheck = compose.services['lcs-sync']!.healthcheck!.test;
    const librechatCheck = compose.services.librechat!.healthcheck!.test;
    expect(syncCheck.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(librechatCheck.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    const server = http.createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end('OK'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    const closed = await freePort();
    try {
      for (const [script, original] of [
        [syncCheck[3]!, '9443'],
        [librechatCheck[3]!, '3080'],
      ] as const) {
        expect(script).toContain(`http://127.0.0.1:${original}/health`);
        await expect(run(process.execPath, ['-e', script.replace(original, String(port))])).resolves.toBeTruthy();
        await expect(run(process.execPath, ['-e', script.replace(original, String(closed))])).rejects.toMatchObject({ code: 1 });
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('.env.example', () => {
  it('lists every variable the compose file reads', () => {
    const referenced = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((match) => match[1]!));
    for (const variable of referenced) expect(Object.keys(envExample), variable).toContain(variable);
  });

  it('holds no secret value: every secret is present and empty, no placeholder pretends to be one', () => {
    for (const name of SECRET_NAMES) {
      expect(Object.keys(envExample), name).toContain(name);
      expect(envExample[name], name).toBe('');
    }
    for (const [name, value] of Object.entries(envExample)) {
      expect(value, name).not.toMatch(/change|replace|your[-_]|xxx|todo|secret|password|example\.com/i);
      for (const pattern of secretLooking) expect(value, name).not.toMatch(pattern);
    }
    for (const pattern of secretLooking) expect(envExampleText).not.toMatch(pattern);
    expect(envExampleText).toContain('npx librechat-supabase secrets --write .env');
    // The detector is not vacuous: it recognises every generated secret and the Supabase key shapes.
    for (const value of [...Object.values(generateSecrets()), 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.sig', 'sb_secret_abc123', 'postgresql://postgres:pw@db.x.supabase.co:5432/postgres']) {
      expect(secretLooking.some((pattern) => pattern.test(value)), value).toBe(true);
    }
  });

  it('`secrets --write .env` on a copy of it fills every secret in place and keeps every other line', () => {
    const merged = mergeEnvText(envExampleText, generateSecrets());
    expect(merged.added).toEqual([]);
    expect(merged.kept).toEqual([]);
    expect(merged.filled.sort()).toEqual(SECRET_SPECS.map((spec) => spec.name).sort());
    const before = envExampleText.split('\n');
    const after = merged.text.split('\n');
    expect(after).toHaveLength(before.length);
    after.forEach((lineText, index) => {
      const name = /^([A-Z0-9_]+)=/.exec(lineText)?.[1];
      if (!name || !merged.filled.includes(name)) expect(lineText).toBe(before[index]);
    });
  });

  it('.env is git-ignored next to the example', () => {
    expect(read(path.join(composeDir, '.gitignore')).split('\n')).toContain('.env');
  });
});

describe('librechat.yaml', () => {
  const text = read(path.join(composeDir, 'librechat.yaml'));
  const doc = YAML.parse(text) as { version: string; endpoints: { custom: Array<Record<string, unknown>> } };

  it("passes LibreChat's own config validation (librechat-data-provider configSchema, strict), nothing silently dropped", () => {
    const result = configSchema.strict().safeParse(doc);
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
    expect(result.data).toMatchObject(doc as object);
  });

  it('has an Ollama custom endpoint at host.docker.internal:11434 that passes the endpoint schema', () => {
    const ollama = doc.endpoints.custom.find((endpoint) => endpoint.name === 'Ollama');
    expect(ollama).toBeDefined();
    expect(new URL(String(ollama!.baseURL)).host).toBe('host.docker.internal:11434');
    const result = endpointSchema.strict().safeParse(ollama);
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
  });

  it('the validation would have caught the seed\'s "Invalid custom config file" class of mistakes', () => {
    expect(configSchema.strict().safeParse({ ...doc, endpoint: doc.endpoints }).success).toBe(false);
    expect(endpointSchema.safeParse({ name: 'Ollama', baseURL: 'http://host.docker.internal:11434/v1/' }).success).toBe(false);
  });
});

describe('Dockerfile of the sync node', () => {
  const text = read(path.join(root, 'Dockerfile'));
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages = instructions.reduce<string[][]>((all, line) => {
    if (/^FROM\s/i.test(line)) all.push([line]);
    else all.at(-1)?.push(line);
    return all;
  }, []);
  const final = stages.at(-1)!;

  it('is multi-stage: npm ci with the native module built in the build stage, only runtime files copied on', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]!.some((line) => /^RUN .*npm ci\b/.test(line))).toBe(true);
    expect(stages[0]!.some((line) => /npm rebuild better-sqlite3/.test(line))).toBe(true);
    expect(stages[0]!.some((line) => /npm prune --omit=dev/.test(line))).toBe(true);
    expect(final.filter((line) => /^COPY /.test(line)).every((line) => line.includes('--from=build'))).toBe(true);
  });

  it('runs in production mode as a non-root user with a HEALTHCHECK on /health and no curl', () => {
    expect(final.some((line) => /^ENV .*NODE_ENV=production/.test(line))).toBe(true);
    const user = final.filter((line) => /^USER /.test(line)).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|$)/);
    const healthcheck = final.find((line) => /^HEALTHCHECK /.test(line));
    expect(healthcheck).toMatch(/CMD \["node", "-e", ".*\/health/);
    expect(instructions.join('\n')).not.toMatch(/curl|wget/);
    expect(final.at(-1)).toBe('CMD ["node", "dist/cli.js", "serve"]');
  });

  it('.dockerignore keeps secrets and local state out of the build context', () => {
    const ignore = read(path.join(root, '.dockerignore')).split('\n');
    for (const entry of ['.env', '.env.*', '**/.env', 'node_modules', 'dist', '.git', '.librechat-supabase']) expect(ignore).toContain(entry);
  });

  describe('its HEALTHCHECK command against a real sync node', () => {
    let service: SyncService;
    let port: number;
    const healthcheck = () => JSON.parse(final.find((line) => /^HEALTHCHECK /.test(line))!.replace(/^HEALTHCHECK .*?CMD /, '')) as string[];

    beforeAll(async () => {
      service = await createSyncService({ pool: db.pool, logger: silentLogger, nodeId: 'docker-healthcheck' });
      port = (await service.listen(0, '127.0.0.1')).port;
    });
    afterAll(async () => {
      await service?.close();
    });

    it('exits 0 while the node is healthy and 1 when nothing answers', async () => {
      const [command, flag, script] = healthcheck();
      expect([command, flag]).toEqual(['node', '-e']);
      await expect(run(process.execPath, [flag!, script!], { env: { ...process.env, LCS_PORT: String(port) } })).resolves.toBeTruthy();
      await expect(run(process.execPath, [flag!, script!], { env: { ...process.env, LCS_PORT: String(await freePort()) } })).rejects.toMatchObject({ code: 1 });
    });
  });
});
