import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RequestHandler } from 'express';
import mongoose from 'mongoose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibreChatSupabase, type LibreChatSupabase } from '../../src/index.js';
import { addMember, createOrganization } from '../library/fixtures.js';
import { createTestDatabase } from '../support/database.js';
import { createLibreChatDouble, type LibreChatDouble } from '../support/librechat/index.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');
const forkDir = path.join(root, 'examples/librechat-fork');
const patchText = readFileSync(path.join(forkDir, 'librechat-v0.8.patch'), 'utf8');
const readme = readFileSync(path.join(forkDir, 'README.md'), 'utf8');

interface Hunk {
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  lines: string[];
}

/** A minimal unified-diff reader: file headers and hunks with their counted lines. */
function parsePatch(text: string): { oldFile: string; newFile: string; hunks: Hunk[] } {
  const lines = text.replace(/\n$/, '').split('\n');
  const oldFile = lines.find((line) => line.startsWith('--- '))!.slice(4);
  const newFile = lines.find((line) => line.startsWith('+++ '))!.slice(4);
  const hunks: Hunk[] = [];
  for (const line of lines) {
    const header = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@/.exec(line);
    if (header) hunks.push({ oldStart: +header[1]!, oldCount: +header[2]!, newStart: +header[3]!, newCount: +header[4]!, lines: [] });
    else if (hunks.length > 0) hunks.at(-1)!.lines.push(line);
  }
  return { oldFile, newFile, hunks };
}

const patch = parsePatch(patchText);
const requireFromHere = createRequire(import.meta.url);
const silentHostLogger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
const added = (hunk: Hunk) => hunk.lines.filter((line) => line.startsWith('+')).map((line) => line.slice(1));

describe('examples/librechat-fork: the v0.8 patch', () => {
  it('is a well-formed unified diff of api/server/index.js: counts match, context is symmetric, nothing removed', () => {
    expect(patch.oldFile).toBe('a/api/server/index.js');
    expect(patch.newFile).toBe('b/api/server/index.js');
    expect(patch.hunks).toHaveLength(2);
    let shift = 0;
    for (const hunk of patch.hunks) {
      expect(hunk.lines.every((line) => /^[ +]/.test(line)), 'only context and added lines').toBe(true);
      const context = hunk.lines.filter((line) => line.startsWith(' ')).length;
      expect(hunk.oldCount).toBe(context);
      expect(hunk.newCount).toBe(context + added(hunk).length);
      expect(hunk.newStart).toBe(hunk.oldStart + shift);
      shift += added(hunk).length;
      // Same number of context lines before and after the insertion: GNU patch applies it without fuzz.
      const firstAdded = hunk.lines.findIndex((line) => line.startsWith('+'));
      const lastAdded = hunk.lines.length - 1 - [...hunk.lines].reverse().findIndex((line) => line.startsWith('+'));
      expect(firstAdded).toBe(hunk.lines.length - 1 - lastAdded);
    }
  });

  it('anchors on lines every LibreChat v0.8.x index.js has, around the require block and before /* OAUTH */', () => {
    const [requireHunk, mountHunk] = patch.hunks;
    expect(requireHunk!.lines.filter((line) => line.startsWith(' '))).toEqual([
      " const staticCache = require('./utils/staticCache');",
      " const noIndex = require('./middleware/noIndex');",
    ]);
    expect(mountHunk!.lines.filter((line) => line.startsWith(' ')).slice(-3)).toEqual([
      '   /* OAUTH */',
      '   app.use(passport.initialize());',
      '   passport.use(jwtLogin());',
    ]);
  });

  it('adds the documented require, client and mounts, in LibreChat order, and closes the client on shutdown', () => {
    const [requireHunk, mountHunk] = patch.hunks;
    expect(added(requireHunk!)).toEqual(["const { createLibreChatSupabase } = require('librechat-supabase');"]);
    const code = added(mountHunk!).map((line) => line.trim());
    expect(code).toEqual(
      expect.arrayContaining([
        'const lcs = createLibreChatSupabase({',
        'databaseUrl: process.env.SUPABASE_DB_URL,',
        'supabaseUrl: process.env.SUPABASE_URL,',
        'supabaseServiceRoleKey: process.env.SUPABASE_SERVICE_ROLE_KEY,',
        "mongoose: require('mongoose'),",
        'logger,',
        "app.use('/api/agents', lcs.syncToSupabase, lcs.trackUsage, lcs.injectOrganizationAgents);",
        "app.use('/api/prompts', lcs.syncToSupabase, lcs.trackUsage, lcs.injectOrganizationPrompts);",
        "app.use('/api/permissions', lcs.syncToSupabase);",
        'lcs.close().finally(exit);',
        "process.once('SIGTERM', closeLibreChatSupabase);",
      ]),
    );
    expect(code.indexOf("app.use('/api/agents', lcs.syncToSupabase, lcs.trackUsage, lcs.injectOrganizationAgents);")).toBeGreaterThan(code.indexOf('const lcs = createLibreChatSupabase({'));
  });

  it('the README shows exactly the code the patch adds, the dependency line and the .env additions', () => {
    for (const line of [...added(patch.hunks[0]!), ...added(patch.hunks[1]!)]) {
      if (line.trim() === '' || line.trim().startsWith('/*') || line.trim().startsWith('*')) continue;
      expect(readme, line).toContain(line);
    }
    expect(readme).toContain('"librechat-supabase": "^0.1.0"');
    expect(readme).toContain('npm install librechat-supabase --workspace api');
    for (const variable of ['SUPABASE_DB_URL=', 'SUPABASE_URL=', 'SUPABASE_SERVICE_ROLE_KEY=']) expect(readme).toContain(variable);
    expect(readme).toMatch(/## Differences for LibreChat v0\.7\.x/);
    const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(readme).toContain(`"librechat-supabase": "^${version}"`);
  });

  it('applies with git apply and with patch(1) to a file holding its context lines at other positions, giving valid JavaScript', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lcs-fork-'));
    mkdirSync(path.join(dir, 'api/server'), { recursive: true });
    // The context lines of each hunk at shifted positions, separated by unrelated lines: the patch must find them.
    const filler = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `// ${tag} line ${i}`);
    const oldSide = (hunk: Hunk) => hunk.lines.filter((line) => line.startsWith(' ')).map((line) => line.slice(1));
    const mountContext = oldSide(patch.hunks[1]!);
    const original = [
      ...filler(40, 'head'),
      ...oldSide(patch.hunks[0]!),
      ...filler(70, 'middle'),
      'const app = { use() {} }; const passport = { initialize() {}, use() {} }; const jwtLogin = () => undefined;',
      'const ALLOW_SOCIAL_LOGIN = false; const logger = console;',
      'async function startServer() {',
      '  if (!ALLOW_SOCIAL_LOGIN) {',
      ...mountContext,
      '}',
    ].join('\n');
    writeFileSync(path.join(dir, 'api/server/index.js'), `${original}\n`);
    writeFileSync(path.join(dir, 'lcs.patch'), patchText);

    await run('git', ['init', '-q', '.'], { cwd: dir });
    await run('git', ['apply', '--check', 'lcs.patch'], { cwd: dir });
    const dryRun = await run('patch', ['--dry-run', '-p1', '-i', 'lcs.patch'], { cwd: dir }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    expect(dryRun.stdout).not.toMatch(/fuzz|FAILED/);
    await run('git', ['apply', 'lcs.patch'], { cwd: dir });
    const patched = readFileSync(path.join(dir, 'api/server/index.js'), 'utf8');
    expect(patched).toContain("const { createLibreChatSupabase } = require('librechat-supabase');\nconst noIndex");
    await run(process.execPath, ['--check', path.join(dir, 'api/server/index.js')]);
  });
});

// The integration half: the mount exactly as the patch writes it, evaluated against the LibreChat double (real
// LibreChat models on the Mongo-wire server) with the real middleware and the real test Postgres.
const { url: mongoUrl, reason: mongoSkipReason } = mongoServer();
const db = await createTestDatabase();

describe.skipIf(!mongoUrl)(`examples/librechat-fork: the patched mount on the LibreChat double${mongoUrl ? '' : ` (skipped: ${mongoSkipReason})`}`, () => {
  let double: LibreChatDouble;
  let lcs: LibreChatSupabase;
  const signals = new Map<string, (signal: string) => void>();
  let exitCode: number | undefined;
  // Stands in for `process` inside the evaluated code, so the test run's own signal handlers stay untouched.
  const hostProcess = {
    env: { SUPABASE_DB_URL: db.url },
    once: (signal: string, handler: (signal: string) => void) => signals.set(signal, handler),
    listenerCount: () => 0,
    exit: (code: number) => {
      exitCode = code;
    },
  };
  const mounted: string[] = [];

  beforeAll(async () => {
    const mountCode = added(patch.hunks[1]!).join('\n');
    const mountAsPatched = new Function('app', 'createLibreChatSupabase', 'logger', 'require', 'process', `${mountCode}\nreturn lcs;`) as (
      ...args: unknown[]
    ) => LibreChatSupabase;
    const connection = mongoose.createConnection(mongoDatabaseUrl(mongoUrl!, 'lcs_fork'), { autoIndex: false, autoCreate: false });
    double = await createLibreChatDouble({
      connection,
      jwtSecret: 'fork-test-secret',
      beforeRouters: (app) => {
        const recordingApp = {
          use: (mountPath: string, ...handlers: RequestHandler[]) => {
            mounted.push(`${mountPath} (${handlers.length})`);
            return app.use(mountPath, ...handlers);
          },
        };
        const requireInLibreChat = (name: string) => (name === 'mongoose' ? connection : requireFromHere(name));
        lcs = mountAsPatched(recordingApp, createLibreChatSupabase, silentHostLogger, requireInLibreChat, hostProcess);
      },
    });
  });

  afterAll(async () => {
    await double?.connection.dropDatabase();
    await double?.connection.close();
  });

  it('mounts the three paths before LibreChat\'s routers: a shared agent lands in the organization library and its chats are counted', async () => {
    expect(mounted).toEqual(['/api/agents (3)', '/api/prompts (3)', '/api/permissions (1)']);
    const organizationId = await createOrganization(db.pool, 'Acme');
    const alice = await double.createUser({ email: 'alice@acme.test', name: 'Alice' });
    await addMember(db.pool, organizationId, { librechatUserId: alice.id, email: alice.email, role: 'member' });
    const auth = { Authorization: `Bearer ${alice.token}` };

    const created = await request(double.app).post('/api/agents').set(auth).send({ name: 'Contract reviewer', provider: 'openAI', model: 'gpt-4o', instructions: 'Review contracts.' });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^agent_/);
    const shared = await request(double.app)
      .put(`/api/permissions/agent/${created.body._id}`)
      .set(auth)
      .send({ updated: [], removed: [], public: true, publicAccessRoleId: 'agent_viewer' });
    expect(shared.status).toBe(200);

    await lcs.flush();
    const { rows } = await db.pool.query<{ name: string }>(
      'select name from public.agent_library where organization_id = $1 and librechat_agent_id = $2',
      [organizationId, created.body.id],
    );
    expect(rows).toEqual([{ name: 'Contract reviewer' }]);

    // trackUsage rides on the same mount: a streamed chat with the saved agent counts once.
    const chat = await request(double.app)
      .post('/api/agents/chat')
      .set(auth)
      .send({ endpoint: 'agents', agent_id: created.body.id, text: 'Review this NDA', conversationId: 'new', parentMessageId: '00000000-0000-0000-0000-000000000000' });
    expect(chat.status).toBe(200);
    await lcs.flush();
    const usage = await db.pool.query<{ usage_count: string }>(
      'select usage_count from public.agent_library where organization_id = $1 and librechat_agent_id = $2',
      [organizationId, created.body.id],
    );
    expect(usage.rows).toEqual([{ usage_count: '1' }]);
  });

  it('on SIGTERM the patched handler closes the client, then exits as Node would have', async () => {
    expect([...signals.keys()].sort()).toEqual(['SIGINT', 'SIGTERM']);
    signals.get('SIGTERM')!('SIGTERM');
    const deadline = Date.now() + 12_000;
    while (exitCode === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exitCode).toBe(0);
    expect(lcs.health().queue).toBeDefined();
  });
});
