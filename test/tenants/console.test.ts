import { afterAll, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { createTestDatabase } from '../support/database.js';
import { runTenantConsole } from '../../src/tenants/console.js';
import { WebUiDb } from './support/webui-fixture.js';

/** The seed's console menu, driven by keystrokes like a person at a terminal. */

const db = await createTestDatabase();
const f = WebUiDb.create({ seed: 11 });
f.seedBasic(2);
afterAll(() => f.close(true));

const DOWN = '\u001b[B';
const LEFT = '\u001b[D';
const ENTER = '\r';

describe('tenants console', () => {
  it('registers, syncs, shows status and jobs, pauses and removes a client from the menu', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let screen = '';
    output.on('data', (chunk: Buffer) => (screen += chunk.toString('utf8')));
    const plain = () => screen.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    const count = (text: string) => plain().split(text).length - 1;
    const waitFor = async (text: string, times: number) => {
      const deadline = Date.now() + 30_000;
      while (count(text) < times) {
        if (Date.now() > deadline) throw new Error(`console never showed "${text}" ${times} time(s):\n${plain().slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
    };
    const type = (keys: string) => input.write(keys);
    let menus = 0;
    let names = 0;
    const choose = async (option: number, name?: string) => {
      await waitFor('Select an option', ++menus);
      type(DOWN.repeat(option - 1) + ENTER);
      if (name !== undefined) {
        await waitFor('Enter client name', ++names);
        type(name + ENTER);
      }
    };

    const session = runTenantConsole({ pool: db.pool, input, output });
    await choose(1, 'console_t');
    await waitFor('Path of webui.db', 1);
    type(f.file + ENTER);
    await choose(5, 'console_t'); // incremental sync
    await choose(6, 'console_t'); // status
    await choose(7); // recent jobs
    await choose(3, 'console_t'); // pause
    await choose(6, 'console_t'); // status again
    await choose(8, 'console_t'); // remove
    await waitFor('Delete schema and data?', 1);
    type(LEFT + ENTER);
    await choose(9);
    await session;

    const text = plain();
    expect(text).toMatch(/Registered "console_t" with 11 table\(s\); scheduled syncing is enabled/);
    expect(text).toMatch(/Sync completed: \d+ written, 0 deleted, 0 failed/);
    expect(text).toMatch(/Client: console_t\s+Sync Enabled: true\s+Status: active\s+Interval: 300s/);
    expect(text).toMatch(/console_t\s+\S+\s+completed\s+incremental\s+manual-console/);
    expect(text).toMatch(/Sync Enabled: false\s+Status: paused/);
    expect(text).toMatch(/Removed "console_t" and deleted its schema/);
    expect(text).toMatch(/Goodbye!/);
    const schema = await db.pool.query(`select count(*)::int as n from pg_namespace where nspname = 'console_t'`);
    expect(schema.rows[0].n).toBe(0);
    const job = await db.pool.query(`select triggered_by, status from sync_metadata.sync_jobs where client_name = 'console_t'`);
    expect(job.rows).toEqual([{ triggered_by: 'manual-console', status: 'completed' }]);
  }, 120_000);
});
