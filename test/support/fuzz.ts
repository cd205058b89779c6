import { randomUUID } from 'node:crypto';
import type { RouteInfo } from '@immish/runtime';
import type { FastifyInstance, InjectOptions } from 'fastify';

/**
 * Bad-input generator (issue 7 item 4): from each route's contract schema, requests that are wrong in every way
 * a client or attacker can be — wrong types, missing fields, unknown fields, huge strings, deep JSON, bad UUIDs,
 * unicode and control characters, traversal strings, truncated multipart, wrong content types.
 */
type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  format?: string;
  const?: unknown;
};

const nasty = [
  '',
  ' ',
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
  '../../../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '\u0000\u0001\u001f\u007f',
  '💥🔥 Ünïcödé 東京',
  '\u202Eevil\u202C',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  `\${jndi:ldap://x}`,
  'x'.repeat(5000),
];

function wrongTypeValue(s: JsonSchema | undefined): unknown[] {
  const t = Array.isArray(s?.type) ? s?.type[0] : s?.type;
  switch (t) {
    case 'string':
      return [12345, true, {}, [], null, 'x'.repeat(200_000), '\u0000\u0007\u001b[31m', '../../etc/passwd'];
    case 'integer':
    case 'number':
      return ['12', -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER * 4, {}, null, 'NaN'];
    case 'boolean':
      return ['true', 1, 'yes', {}, null];
    case 'array':
      return ['[]', {}, 1, Array.from({ length: 20_000 }, () => 'x'), [null, {}, 'not-a-uuid']];
    case 'object':
      return ['{}', [], 1, null];
    default:
      return [{ $gt: '' }, ['x'], 'not-a-uuid', null];
  }
}

function deepJson(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

function fillPath(url: string, value: (param: string) => string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, (_m, p: string) => encodeURIComponent(value(p)));
}

export function badRequests(routes: RouteInfo[], validParams: Record<string, string> = {}): InjectOptions[] {
  const out: InjectOptions[] = [];
  const valid = (p: string) => validParams[p] ?? randomUUID();
  for (const r of routes) {
    if (
      r.method === 'HEAD' ||
      r.method === 'OPTIONS' ||
      /^\/(health|metrics|api\/docs)/.test(r.url) ||
      r.url.includes('*')
    )
      continue;
    const method = r.method as InjectOptions['method'];
    const hasParams = r.url.includes(':');
    // bad path parameters
    if (hasParams) for (const v of nasty) out.push({ method, url: fillPath(r.url, () => v) });
    const url = fillPath(r.url, valid);
    // bad query strings
    const q = (r.schema.querystring as JsonSchema | undefined)?.properties ?? {};
    for (const name of Object.keys(q)) {
      for (const v of ['not-a-number', '-1', '1e309', 'x'.repeat(3000), '%00', '../..']) {
        out.push({ method, url: `${url}?${encodeURIComponent(name)}=${encodeURIComponent(v)}` });
      }
    }
    out.push({ method, url: `${url}?${'a=1&'.repeat(2000)}` });
    if (method === 'GET' || method === 'DELETE') {
      if (method === 'DELETE')
        out.push({ method, url, headers: { 'content-type': 'application/json' }, payload: '{"ids": [' });
      continue;
    }
    const body = r.schema.body as JsonSchema | undefined;
    const json = (payload: unknown): InjectOptions => ({
      method,
      url,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
    out.push(json(null), json([]), json('string'), json(42), json(deepJson(200)), json({ unknownField: true }));
    out.push({ method, url, headers: { 'content-type': 'application/json' }, payload: '{"broken": ' });
    out.push({ method, url, headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    out.push({ method, url, headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    out.push({
      method,
      url,
      headers: { 'content-type': 'multipart/form-data; boundary=----x' },
      payload:
        '------x\r\nContent-Disposition: form-data; name="assetData"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff',
    });
    out.push({ method, url, headers: { 'content-type': 'multipart/form-data' }, payload: 'no boundary' });
    const props = body?.properties ?? {};
    const required = body?.required ?? [];
    for (const name of required)
      out.push(json(Object.fromEntries(required.filter((n) => n !== name).map((n) => [n, 'x']))));
    for (const [name, schema] of Object.entries(props)) {
      for (const v of wrongTypeValue(schema)) out.push(json({ [name]: v }));
      for (const v of nasty.slice(0, 6)) out.push(json({ [name]: v }));
    }
  }
  return out;
}

export interface FuzzOutcome {
  sent: number;
  serverErrors: { req: string; status: number; body: string }[];
  badShapes: { req: string; status: number; body: string }[];
  hung: string[];
}

/** Sends every request; collects any 5xx and any JSON error that is not in the docs/spec.md §11 shape. */
export async function fuzz(
  app: FastifyInstance,
  requests: InjectOptions[],
  headers: Record<string, string>,
): Promise<FuzzOutcome> {
  const outcome: FuzzOutcome = { sent: 0, serverErrors: [], badShapes: [], hung: [] };
  for (const req of requests) {
    const label = `${req.method} ${String(req.url).slice(0, 120)} ${String(req.payload ?? '').slice(0, 80)}`;
    let timer: NodeJS.Timeout | undefined;
    const res = await Promise.race([
      app.inject({ ...req, headers: { ...headers, ...(req.headers ?? {}) } }),
      new Promise<null>((r) => {
        timer = setTimeout(() => r(null), 10_000);
      }),
    ]).finally(() => clearTimeout(timer));
    outcome.sent++;
    if (!res) {
      outcome.hung.push(label);
      continue;
    }
    if (res.statusCode >= 500)
      outcome.serverErrors.push({ req: label, status: res.statusCode, body: res.body.slice(0, 300) });
    if (res.statusCode >= 400 && /json/.test(String(res.headers['content-type'] ?? ''))) {
      const b = res.json() as Record<string, unknown>;
      const ok =
        typeof b.message === 'string' &&
        typeof b.error === 'string' &&
        b.statusCode === res.statusCode &&
        typeof b.correlationId === 'string';
      if (!ok) outcome.badShapes.push({ req: label, status: res.statusCode, body: res.body.slice(0, 300) });
    }
  }
  return outcome;
}
