import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import AjvModule, { type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * Immich conformance (issue 3 item 4): validates a real immish response against Immich's published
 * OpenAPI document (`packages/contracts/reference/immich-openapi-3.1.0.json`).
 *
 *   expectImmichResponse('GET', '/albums/{id}', res.statusCode, res.json())
 *   expectImmichResponse('GET', '/api/albums/:id', ...)          // our route template works too
 *   expectImmichResponse('GET', `/api/albums/${id}`, ...)        // and so does a concrete path
 *
 * It asserts the status code is one the operation documents and that the body validates against that
 * status's response schema (required fields, types, formats, enums). Additional properties are allowed:
 * immish adds fields such as `status`. Returns the operationId; every checked operation is recorded in
 * `coveredOperations` so a test can list what it covered.
 */

const Ajv = AjvModule.default;
const addFormats = addFormatsModule.default;

/** A copy of Immich's published document is kept in the repo (packages/contracts/reference); IMMICH_OPENAPI_REFERENCE overrides it. */
const REFERENCE =
  process.env.IMMICH_OPENAPI_REFERENCE ??
  fileURLToPath(new URL('../../../packages/contracts/reference/immich-openapi-3.1.0.json', import.meta.url));

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  method: string;
  template: string;
  responses: Record<string, { content?: Record<string, { schema?: Json }> }>;
  /** `x-immich-permission`: what an API key needs (absent: Immich checks none, or the route is public) */
  permission?: string;
  /** `x-immich-admin-only` */
  adminOnly: boolean;
}

interface Reference {
  operations: Map<string, Operation>; // `${METHOD} ${template}`
  templates: { template: string; regex: RegExp; literalSegments: number }[];
  ajv: InstanceType<typeof Ajv>;
  validators: Map<string, ValidateFunction>;
}

let reference: Reference | undefined;

/** OpenAPI 3.0 → JSON Schema: `nullable: true` becomes `anyOf [T, null]`, refs point into our `definitions`. */
function convert(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === 'nullable' || k.startsWith('x-') || k === 'example' || k === 'examples') continue;
    if (k === '$ref' && typeof v === 'string') {
      out.$ref = v.replace('#/components/schemas/', 'immich#/definitions/');
      continue;
    }
    out[k] = convert(v);
  }
  if ((node as Json).nullable === true) return { anyOf: [out, { type: 'null' }] };
  return out;
}

function load(): Reference {
  if (reference) return reference;
  if (!existsSync(REFERENCE)) {
    throw new Error(`Immich's OpenAPI document not found at ${REFERENCE} (set IMMICH_OPENAPI_REFERENCE)`);
  }
  const doc = JSON.parse(readFileSync(REFERENCE, 'utf8')) as {
    paths: Record<string, Record<string, Json>>;
    components: { schemas: Record<string, unknown> };
  };
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  addFormats(ajv);
  for (const f of ['double', 'float', 'int32', 'int64', 'binary', 'byte']) ajv.addFormat(f, true);
  ajv.addSchema({ $id: 'immich', definitions: convert(doc.components.schemas) as Json });

  const operations = new Map<string, Operation>();
  const templates: Reference['templates'] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    const segments = template.split('/').filter(Boolean);
    templates.push({
      template,
      regex: new RegExp(
        `^/${segments.map((s) => (s.startsWith('{') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`,
      ),
      literalSegments: segments.filter((s) => !s.startsWith('{')).length,
    });
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method)) continue;
      operations.set(`${method.toUpperCase()} ${template}`, {
        operationId: String(op.operationId),
        method: method.toUpperCase(),
        template,
        responses: (op.responses ?? {}) as Operation['responses'],
        ...(typeof op['x-immich-permission'] === 'string' ? { permission: op['x-immich-permission'] } : {}),
        adminOnly: op['x-immich-admin-only'] === true,
      });
    }
  }
  reference = { operations, templates, ajv, validators: new Map() };
  return reference;
}

/** `/api/albums/:id`, `/albums/{id}` or `/api/albums/<uuid>?x=1` → the reference document's template. */
export function immichTemplate(method: string, path: string): string {
  const ref = load();
  const m = method.toUpperCase();
  const bare = path.split('?')[0]!.replace(/^\/api(?=\/)/, '');
  const asTemplate = bare.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  if (ref.operations.has(`${m} ${asTemplate}`)) return asTemplate;
  const candidates = ref.templates
    .filter((t) => t.regex.test(bare) && ref.operations.has(`${m} ${t.template}`))
    .sort((a, b) => b.literalSegments - a.literalSegments);
  const found = candidates[0];
  if (!found) throw new Error(`Immich 3.1 documents no operation ${m} ${bare}`);
  return found.template;
}

/** The `Permission` enum of the reference document (Immich's API key permission names). */
export function immichPermissionNames(): string[] {
  const doc = JSON.parse(readFileSync(REFERENCE, 'utf8')) as {
    components: { schemas: { Permission: { enum: string[] } } };
  };
  return doc.components.schemas.Permission.enum;
}

export function immichOperation(method: string, path: string): Operation {
  const ref = load();
  const template = immichTemplate(method, path);
  return ref.operations.get(`${method.toUpperCase()} ${template}`)!;
}

/** Every operation `expectImmichResponse` has checked in this process: `operationId (METHOD /template)`. */
export const coveredOperations = new Set<string>();

export function expectImmichResponse(method: string, immichPath: string, status: number, body: unknown): string {
  const ref = load();
  const op = immichOperation(method, immichPath);
  const label = `${op.operationId} (${op.method} ${op.template})`;
  const documented = op.responses[String(status)];
  if (!documented) {
    throw new Error(
      `${label}: status ${status} is not documented (documented: ${Object.keys(op.responses).join(', ')}); body: ${JSON.stringify(body).slice(0, 500)}`,
    );
  }
  const schema = documented.content?.['application/json']?.schema;
  const binaryTypes = Object.keys(documented.content ?? {}).filter((t) => t !== 'application/json');
  if (!schema && binaryTypes.length > 0) {
    // A file (application/octet-stream): the status is what can be checked here; bytes are the caller's test.
    if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) {
      throw new Error(`${label}: status ${status} documents ${binaryTypes.join(', ')}, got a JSON body`);
    }
    coveredOperations.add(label);
    return op.operationId;
  }
  if (!schema) {
    // No content documented (204 and friends): the body must be empty.
    if (body !== undefined && body !== null && body !== '') {
      throw new Error(`${label}: status ${status} documents no body, got ${JSON.stringify(body).slice(0, 200)}`);
    }
    coveredOperations.add(label);
    return op.operationId;
  }
  const key = `${op.method} ${op.template} ${status}`;
  let validate = ref.validators.get(key);
  if (!validate) {
    validate = ref.ajv.compile(convert(schema) as Json);
    ref.validators.set(key, validate);
  }
  const parsed = typeof body === 'string' ? JSON.parse(body) : body;
  if (!validate(parsed)) {
    const errors = (validate.errors ?? [])
      .slice(0, 10)
      .map((e) => `  ${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`)
      .join('\n');
    throw new Error(
      `${label}: ${status} body does not match Immich's schema:\n${errors}\nbody: ${JSON.stringify(parsed).slice(0, 1000)}`,
    );
  }
  coveredOperations.add(label);
  return op.operationId;
}

/** Convenience for `app.inject` results (JSON bodies are parsed; file bodies are passed as a Buffer). */
export function expectImmichReply(
  method: string,
  immichPath: string,
  res: { statusCode: number; body: string; rawPayload?: Buffer; headers?: Record<string, unknown> },
): string {
  const type = String(res.headers?.['content-type'] ?? 'application/json');
  const body =
    res.body === '' ? undefined : type.includes('json') ? JSON.parse(res.body) : (res.rawPayload ?? res.body);
  return expectImmichResponse(method, immichPath, res.statusCode, body);
}
