import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createTestDatabase } from '../support/database.js';
import { createDashboardPlugin } from '../../src/dashboard/plugin.js';
import type { SyncService } from '../../src/service/server.js';
import { TOKEN, seedDashboardData, startDashboardNode } from './support/seed.js';

/**
 * The dashboard in a real headless Chromium (Debian's, driven by playwright-core): sign in, real data, the tenant
 * buttons, and the auto-refresh. The browser only ever talks to the test's own node: any other request fails the test.
 */

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/lcs-dashboard.png';
const REFRESH_MS = 1000;
const hasChromium = existsSync(CHROMIUM);

const db = await createTestDatabase();

describe.skipIf(!hasChromium)(`dashboard in headless Chromium${hasChromium ? '' : ' (skipped: /usr/bin/chromium is missing; run scripts/install-chromium.sh)'}`, () => {
  let service: SyncService;
  let url: string;
  let browser: Browser;
  let page: Page;
  const offOrigin: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    await seedDashboardData(db.pool);
    ({ service, url } = await startDashboardNode(db.pool, { plugin: createDashboardPlugin({ refreshMs: REFRESH_MS }) }));
    // playwright's launch gives every browser a fresh temporary profile (user-data-dir) and removes it on close.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await context.route('**/*', (route) => {
      const requested = route.request().url();
      if (requested.startsWith(`${url}/`)) return route.continue();
      offOrigin.push(requested);
      return route.abort();
    });
    page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  const tenantRow = (name: string) => page.locator(`tr[data-tenant="${name}"]`);
  const tenantInDb = async (name: string) =>
    (await db.pool.query<{ status: string; sync_enabled: boolean }>('select status, sync_enabled from sync_metadata.client_deployments where client_name = $1', [name])).rows[0];

  it('signs in with the API token and shows the real data', async () => {
    await page.goto(`${url}/`);
    await page.locator('form[action="/login"]').waitFor();
    expect(await page.locator('tr[data-tenant]').count()).toBe(0);

    await page.fill('#token', 'wrong-token');
    await page.click('form[action="/login"] button');
    await page.getByText('That is not the API token of this node.').waitFor();

    await page.fill('#token', TOKEN);
    await page.click('form[action="/login"] button');
    await tenantRow('acme').waitFor();
    expect(page.url()).toBe(`${url}/`);
    // The cookie is HttpOnly: the page's script cannot read the token.
    expect(await page.evaluate<string>('document.cookie')).not.toContain('lcs_token');

    expect(await tenantRow('acme').locator('td.status').innerText()).toContain('active');
    expect(await tenantRow('globex').locator('td.status').innerText()).toContain('paused');
    const jobs = await page.locator('#section-jobs').innerText();
    expect(jobs).toContain('20.0 rows/s');
    expect(jobs).toContain('1 min');
    expect(await page.locator('#section-conflicts').innerText()).toContain('{"id":"chat-42"}');
    expect(await page.locator('#section-users [data-state="fully_synced"]').innerText()).toBe('2');
    expect(await page.locator('#section-library').innerText()).toContain('No reconcile recorded.');
    expect(await page.locator('tr[data-node="node-a"]').innerText()).toContain('leader');
    expect(await page.locator('tr[data-node="node-b"]').innerText()).toContain('unresponsive');

    // The hostile job error and organization name render as text: no script ran, no element was injected.
    expect(jobs).toContain('<script>document.title="pwned"</script>');
    expect(await page.title()).toBe('Dashboard · librechat-supabase');
    expect(await page.locator('main img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('pauses, starts and triggers a tenant from its buttons', async () => {
    await tenantRow('acme').locator('button[data-action="pause"]').click();
    await tenantRow('acme').locator('td.status', { hasText: 'paused' }).waitFor();
    await page.locator('#flash', { hasText: 'Paused acme' }).waitFor();
    expect(await tenantInDb('acme')).toEqual({ status: 'paused', sync_enabled: false });

    await tenantRow('acme').locator('button[data-action="start"]').click();
    await tenantRow('acme').locator('td.status', { hasText: 'active' }).waitFor();
    expect(await tenantInDb('acme')).toEqual({ status: 'active', sync_enabled: true });

    await tenantRow('acme').locator('button[data-action="trigger"]').click();
    await tenantRow('acme').locator('td.status', { hasText: 'sync queued' }).waitFor();
    await page.locator('#flash', { hasText: 'Sync of acme queued' }).waitFor();
    const { rows } = await db.pool.query(`select triggered_by, picked_at from sync_metadata.sync_requests where client_name = 'acme'`);
    expect(rows).toEqual([{ triggered_by: 'dashboard', picked_at: null }]);
  });

  it('picks up rows inserted after the page loaded without reloading it', async () => {
    // Marks this page load: a reload or navigation would lose it.
    await page.evaluate('window.loadedOnce = true');
    const { rows } = await db.pool.query<{ job_id: string }>(
      `insert into sync_metadata.sync_jobs (client_name, started_at, completed_at, status, sync_type, triggered_by, rows_synced, duration_seconds, node_id)
       values ('globex', now() - interval '5 seconds', now(), 'completed', 'incremental', 'scheduler', 4242, 2, 'node-a') returning job_id`,
    );
    await db.pool.query(`insert into sync_metadata.conflict_log (client_name, table_name, row_key, kind, strategy, resolution) values ('globex', 'message', '{"id": "late-1"}', 'delete', 'manual', 'pending')`);
    const newJob = page.locator(`tr[data-job="${rows[0]!.job_id}"]`);
    await newJob.waitFor({ timeout: REFRESH_MS * 10 });
    expect(await newJob.innerText()).toContain('2,121 rows/s');
    await page.locator('#section-conflicts', { hasText: 'late-1' }).waitFor();
    expect(await page.evaluate<boolean>('window.loadedOnce === true')).toBe(true);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it('signs out back to the sign-in form, and never touched the network beyond its node', async () => {
    await page.click('form[action="/logout"] button');
    await page.locator('form[action="/login"]').waitFor();
    expect(await page.locator('tr[data-tenant]').count()).toBe(0);
    expect(offOrigin).toEqual([]);
  });
});
