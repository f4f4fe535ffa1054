import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isLcsError } from '../core/errors.js';
import { HttpError, type ServiceRequest, type ServiceResponse } from '../service/http.js';
import type { ServicePlugin } from '../service/server.js';
import { isTenantAction, runTenantAction } from './actions.js';
import { readDashboard, type DashboardReadOptions } from './data.js';
import { contentSecurityPolicy, dashboardPage, messagePage, sectionFragments, signInPage } from './page.js';

/**
 * The web dashboard of a sync node, at `/`: sign in with the API token (kept in an HttpOnly, SameSite=Strict
 * cookie the router accepts), watch tenants, jobs, conflicts, legacy users, library health and nodes, and pause,
 * start or trigger a tenant. Button posts need the cookie and a CSRF token embedded in the page.
 */

export interface DashboardOptions {
  /** How often the page refetches its data, in milliseconds (default 5000). */
  refreshMs?: number;
  /** A healthy node whose last heartbeat is older than this is shown as unresponsive (default 15 s, 3 scheduler ticks). */
  staleAfterSeconds?: number;
  /** Recent jobs shown (default 25). */
  jobLimit?: number;
  /** Unresolved conflicts shown (default 50). */
  conflictLimit?: number;
}

const COOKIE = 'lcs_token';
// A failed sign-in answers slowly, so guessing the token over HTTP is slower still.
const FAILED_SIGN_IN_DELAY_MS = 400;

export function createDashboardPlugin(options: DashboardOptions = {}): ServicePlugin {
  const refreshMs = options.refreshMs ?? 5000;
  return (context) => {
    const { router } = context;
    const readOptions: DashboardReadOptions = {
      nodeId: context.nodeId,
      clusterName: context.clusterName,
      staleAfterSeconds: options.staleAfterSeconds ?? 15,
      jobLimit: options.jobLimit ?? 25,
      conflictLimit: options.conflictLimit ?? 50,
    };
    const read = () => readDashboard(context.pool, context.logger, readOptions);
    const signedIn = (request: ServiceRequest) => {
      try {
        return router.isAuthorized(request.headers);
      } catch {
        return false; // a malformed cookie is no sign-in
      }
    };

    router.add(
      'GET',
      '/',
      async (request) => {
        const nonce = randomBytes(16).toString('base64');
        if (!signedIn(request)) return page(200, signInPage({ nonce }), nonce);
        return page(200, dashboardPage(await read(), { csrfToken: csrfTokenFor(request), nonce, refreshMs }), nonce);
      },
      { public: true },
    );

    router.add(
      'POST',
      '/login',
      async (request) => {
        const token = formField(request, 'token');
        if (!token || !router.isAuthorized({ authorization: `Bearer ${token}` })) {
          await new Promise((resolve) => setTimeout(resolve, FAILED_SIGN_IN_DELAY_MS));
          const nonce = randomBytes(16).toString('base64');
          return page(401, signInPage({ nonce, error: token ? 'That is not the API token of this node.' : 'Enter the API token.' }), nonce);
        }
        return redirect('/', cookie(request, encodeURIComponent(token)));
      },
      { public: true },
    );

    // Signing out only clears this browser's cookie, so it needs no token.
    router.add('POST', '/logout', async (request) => redirect('/', cookie(request, '', 0)), { public: true });

    router.add('GET', '/dashboard/data', async (request) => {
      const data = await read();
      return { status: 200, body: { data, sections: sectionFragments(data, csrfTokenFor(request)) } };
    });

    router.add('POST', '/dashboard/tenants/:name/:action', async (request) => {
      const wantsJson = (request.headers.accept ?? '').includes('application/json');
      const presented = typeof request.headers['x-csrf-token'] === 'string' ? request.headers['x-csrf-token'] : formField(request, 'csrf');
      if (!presented || !sameSecret(presented, csrfTokenFor(request))) {
        return answer(wantsJson, 403, 'Missing or wrong CSRF token: reload the dashboard and try again.');
      }
      const action = request.params.action ?? '';
      if (!isTenantAction(action)) return answer(wantsJson, 404, `Unknown action "${action.slice(0, 40)}": use pause, start or trigger.`);
      try {
        const { message } = await runTenantAction(context.pool, request.params.name ?? '', action);
        context.logger.info(`dashboard: ${action} ${request.params.name}`);
        return wantsJson ? { status: 200, body: { message } } : redirect('/');
      } catch (error) {
        if (!isLcsError(error)) throw error;
        const status = error.code === 'LCS_TENANT_UNKNOWN' ? 404 : error.code === 'LCS_TENANT_NAME' ? 400 : 409;
        return answer(wantsJson, status, error.message.split('\n')[0]!);
      }
    });
  };
}

/** The dashboard with its defaults, as `serve` and `up` load it. */
export const dashboardPlugin: ServicePlugin = createDashboardPlugin();

function page(status: number, body: string, nonce: string): ServiceResponse {
  return {
    status,
    body,
    contentType: 'text/html; charset=utf-8',
    headers: {
      'content-security-policy': contentSecurityPolicy(nonce),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    },
  };
}

function answer(wantsJson: boolean, status: number, message: string): ServiceResponse {
  if (wantsJson) return { status, body: { error: message } };
  const nonce = randomBytes(16).toString('base64');
  return page(status, messagePage({ nonce, title: 'Not done', message }), nonce);
}

function redirect(location: string, setCookie?: string): ServiceResponse {
  return { status: 303, body: '', headers: { location, ...(setCookie ? { 'set-cookie': setCookie } : {}) } };
}

function cookie(request: ServiceRequest, value: string, maxAgeSeconds?: number): string {
  const parts = [`${COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  // Behind a TLS-terminating proxy the browser talks HTTPS: never send the token over plain HTTP then.
  if (request.headers['x-forwarded-proto'] === 'https') parts.push('Secure');
  if (maxAgeSeconds !== undefined) parts.push(`Max-Age=${maxAgeSeconds}`);
  return parts.join('; ');
}

/**
 * The page's CSRF token: an HMAC of the presented (already verified) API token. Stable across nodes and restarts,
 * reveals nothing about the token, and a page on another site can neither read it nor compute it.
 */
function csrfTokenFor(request: ServiceRequest): string {
  const credential = presentedCredential(request);
  if (!credential) throw new HttpError(401, 'sign in first');
  return createHmac('sha256', credential).update('lcs-dashboard-csrf-v1').digest('base64url');
}

function presentedCredential(request: ServiceRequest): string | null {
  const header = request.headers.authorization ?? '';
  if (header.startsWith('Bearer ')) return header.slice(7);
  const value = new RegExp(`(?:^|;\\s*)${COOKIE}=([^;]+)`).exec(request.headers.cookie ?? '')?.[1];
  if (!value) return null;
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function formField(request: ServiceRequest, name: string): string | null {
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : null;
}
