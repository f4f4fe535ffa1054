import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';

/** A small router over node:http for the sync service: JSON in and out, bearer-token guard, no framework. */
export interface ServiceRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface ServiceResponse {
  status: number;
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export type RouteHandler = (request: ServiceRequest) => Promise<ServiceResponse> | ServiceResponse;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: RouteHandler;
  public: boolean;
}

export class ServiceRouter {
  private readonly routes: Route[] = [];

  constructor(private readonly apiToken: string | undefined) {}

  /** Registers a route; `:name` segments become params. Routes are token-protected unless `public` is set. */
  add(method: string, path: string, handler: RouteHandler, options: { public?: boolean } = {}): this {
    const keys: string[] = [];
    const pattern = new RegExp(
      `^${path.replace(/\/:([A-Za-z_]+)/g, (_m, key: string) => {
        keys.push(key);
        return '/([^/]+)';
      })}/?$`,
    );
    this.routes.push({ method, pattern, keys, handler, public: options.public ?? false });
    return this;
  }

  /** True when the Authorization header carries the API token (constant-time compare). */
  isAuthorized(headers: http.IncomingHttpHeaders): boolean {
    if (!this.apiToken) return false;
    const header = headers.authorization ?? '';
    const cookieToken = /(?:^|;\s*)lcs_token=([^;]+)/.exec(headers.cookie ?? '')?.[1];
    const presented = header.startsWith('Bearer ') ? header.slice(7) : cookieToken ? safeDecode(cookieToken) : '';
    const a = Buffer.from(presented);
    const b = Buffer.from(this.apiToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const route = this.routes.find((r) => r.method === method && r.pattern.test(url.pathname));
    if (!route) {
      const known = this.routes.some((r) => r.pattern.test(url.pathname));
      return send(res, known ? { status: 405, body: { error: 'method not allowed' } } : { status: 404, body: { error: 'not found' } });
    }
    if (!route.public && !this.isAuthorized(req.headers)) {
      return send(res, {
        status: 401,
        body: { error: this.apiToken ? 'missing or wrong bearer token' : 'LCS_API_TOKEN is not set on this node; the API is disabled' },
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    let body: unknown = undefined;
    try {
      body = await readBody(req);
    } catch (error) {
      return send(res, { status: 400, body: { error: (error as Error).message } });
    }
    const match = route.pattern.exec(url.pathname)!;
    const params: Record<string, string> = {};
    route.keys.forEach((key, index) => {
      params[key] = decodeURIComponent(match[index + 1] ?? '');
    });
    try {
      const response = await route.handler({ method, path: url.pathname, params, query: url.searchParams, headers: req.headers, body });
      send(res, response);
    } catch (error) {
      const status = typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
      send(res, { status, body: { error: status === 500 ? 'internal error' : (error as Error).message } });
    }
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return '';
  }
}

const MAX_BODY_BYTES = 1024 * 1024;

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body is larger than 1 MiB');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    throw new Error('request body is not valid JSON');
  }
}

function send(res: http.ServerResponse, response: ServiceResponse): void {
  const isText = typeof response.body === 'string';
  const payload = isText ? (response.body as string) : JSON.stringify(response.body);
  res.writeHead(response.status, {
    'content-type': response.contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8'),
    'cache-control': 'no-store',
    ...response.headers,
  });
  res.end(payload);
}

/** Error a handler throws to answer with a given status and message. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
