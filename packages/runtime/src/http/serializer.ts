import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

/**
 * The response serializers: fastify's own (fast-json-stringify through its compiler, shared schemas and all), each
 * given a copy of the route's response schema in which nullable fields and unions of string literals are written
 * the way fast-json-stringify serializes without validating.
 *
 * Why: fast-json-stringify serializes an `anyOf` by running the Ajv validator of each branch on the value until one
 * matches. The contracts write every nullable field as TypeBox's `Union([X, Null])` (an `anyOf`, as the published
 * OpenAPI document shows it), so each nullable field of each asset of an owner's list cost a validation, and a
 * nullable date-time a date-time check of its string: Ajv was ~4% of the links-api's busy time on that route in a
 * `--cpu-prof` (2026-12-07; docs/benchmarks.md "The owner's list under a burst").
 *
 * The same JSON comes out: `anyOf: [X, null]` with X of one type becomes X with `type: [X's type, 'null']`, which
 * fast-json-stringify serializes by a `typeof` test; `anyOf` of string constants (a TypeBox union of literals)
 * becomes a string with `enum`. What is no longer checked on the way out is what those validations added: the
 * format of a nullable string (a uuid, a date-time, an email) and membership of a literal union, both produced by
 * the domain's DTO mappers from typed rows. A value of the wrong type still fails as before (a 500, never a wrong
 * answer: test/serializer.test.ts), and which fields go out is decided by the schema exactly as before. The route
 * schemas themselves, which the OpenAPI document and the validators read, are not changed: the rewrite works on a
 * copy.
 */
export function buildResponseSerializer(externalSchemas: unknown, serializerOpts: unknown) {
  const fastifys = SerializerSelector()(externalSchemas as never, serializerOpts as never);
  return (route: { schema: unknown; method: string; url: string; httpStatus: string }) =>
    fastifys({ ...route, schema: serializableSchema(route.schema) } as never);
}

const NULL_SCHEMA = (s: Schema) => s.type === 'null' && Object.keys(s).every((k) => k === 'type');
const SINGLE_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array']);
/** keywords after which a branch is more than "a value of one type": left to fast-json-stringify's own `anyOf` */
const COMPOUND = ['anyOf', 'oneOf', 'allOf', 'not', 'if', '$ref'];

type Schema = Record<string, unknown>;

/** A copy of the schema with its nullable unions and literal unions rewritten (see above); anything else as is. */
export function serializableSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(serializableSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  // enumerable keys only: TypeBox's own bookkeeping (`~kind`) is not part of the JSON schema
  const copy: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    copy[key] = key === 'enum' || key === 'const' || key === 'default' ? value : serializableSchema(value);
  }
  return Array.isArray(copy.anyOf) ? withoutAnyOf(copy, copy.anyOf as Schema[]) : copy;
}

function withoutAnyOf(schema: Schema, branches: Schema[]): Schema {
  const { anyOf: _, ...siblings } = schema;
  if (Object.keys(siblings).some((k) => COMPOUND.includes(k) || k === 'type')) return schema;
  const nullable = branches.some(NULL_SCHEMA);
  const rest = branches.filter((b) => !NULL_SCHEMA(b));
  /** a value of one type and nothing more */
  const oneType = (b: Schema) => SINGLE_TYPES.has(b.type as string) && !COMPOUND.some((k) => k in b);
  const [only] = rest;
  if (nullable && rest.length === 1 && only && oneType(only))
    return { ...siblings, ...only, type: [only.type, 'null'] };
  const literals = rest.every((b) => oneType(b) && b.type === 'string' && typeof b.const === 'string');
  if (rest.length > 0 && literals) {
    return { ...siblings, type: nullable ? ['string', 'null'] : 'string', enum: rest.map((b) => b.const) };
  }
  return schema;
}
