import { randomUUID } from 'node:crypto';
import * as contracts from '@immish/contracts';
import { seededRandom } from '@immish/testkit';
import fastJson from 'fast-json-stringify';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { serializableSchema } from '../src/http/serializer.ts';
import { createHttpApp } from '../src/index.ts';

/**
 * serializer.ts: the rewritten response schemas serialize every value to the same JSON as the contracts' own
 * schemas, for every schema the contracts export, and still refuse a value of the wrong type; the route's own
 * schema (what the OpenAPI document shows) is untouched.
 */
type Schema = Record<string, unknown>;

/** A random value the schema accepts: each union branch, null, optional fields present or not, odd strings. */
function sample(schema: Schema, random: () => number, depth = 0): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return pick(schema.enum);
  if (Array.isArray(schema.anyOf)) return sample(pick(schema.anyOf as Schema[]), random, depth);
  const type = Array.isArray(schema.type) ? pick(schema.type as string[]) : schema.type;
  switch (type) {
    case 'null':
      return null;
    case 'boolean':
      return random() < 0.5;
    case 'integer':
    case 'number': {
      const low = typeof schema.minimum === 'number' ? schema.minimum : -(2 ** 39);
      const high = typeof schema.maximum === 'number' ? schema.maximum : 2 ** 39;
      const value = low + random() * (high - low);
      return type === 'integer' ? Math.floor(value) : value;
    }
    case 'string': {
      if (schema.format === 'date-time') return new Date(Math.floor(random() * 4e12)).toISOString();
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'email') return pick(['owner@example.com', 'ünï@example.org']);
      const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
      const fits = STRINGS.filter(
        (s) =>
          (!pattern || pattern.test(s)) &&
          s.length >= ((schema.minLength as number) ?? 0) &&
          s.length <= ((schema.maxLength as number) ?? Number.POSITIVE_INFINITY),
      );
      return fits.length > 0 ? pick(fits) : 'a'.repeat((schema.minLength as number) ?? 1);
    }
    case 'array': {
      if (depth > 6) return [];
      const items = schema.items as Schema;
      return Array.from({ length: Math.floor(random() * 3) }, () => sample(items, random, depth + 1));
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set((schema.required as string[] | undefined) ?? []);
      for (const [name, property] of Object.entries((schema.properties as Record<string, Schema>) ?? {})) {
        if (required.has(name) || random() < 0.5) out[name] = sample(property, random, depth + 1);
      }
      return out;
    }
    default:
      return pick([null, 1, 'x', true]);
  }
}

/** Strings to pick from: empty, plain, every character JSON must escape, non-ASCII, HTML. */
const STRINGS = ['', 'plain', 'quote " and \\ backslash', 'ünïcödé ✓', 'line\nbreak', '\u0001control', '</script>'];

/** Every schema the contracts export (TypeBox values with a JSON-schema type or union). */
const exported = Object.entries(contracts).filter(
  ([, value]) => value !== null && typeof value === 'object' && ('type' in value || 'anyOf' in value),
) as [string, Schema][];

describe('response schemas as serialized', () => {
  it('finds the contracts’ schemas to check, nullable unions among them', () => {
    expect(exported.length).toBeGreaterThan(30);
    expect(JSON.stringify(exported)).toContain('"anyOf"');
  });

  it('serializes 200 random values of every exported schema to the same JSON as the schema itself', () => {
    const random = seededRandom(4);
    let compared = 0;
    for (const [name, schema] of exported) {
      const original = fastJson(schema as never);
      const rewritten = fastJson(serializableSchema(schema) as never);
      for (let i = 0; i < 200; i++) {
        const value = sample(schema, random);
        let expected: string | Error;
        try {
          expected = original(value as never);
        } catch (error) {
          expected = error as Error;
        }
        if (expected instanceof Error)
          expect(() => rewritten(value as never), `${name}: ${expected.message} ${JSON.stringify(value)}`).toThrow();
        else expect(rewritten(value as never), `${name}: ${JSON.stringify(value)}`).toBe(expected);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(6000);
  });

  it('rewrites nullable and literal unions, and leaves other unions to fast-json-stringify', () => {
    const nullableDate = Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'd' });
    expect(serializableSchema(nullableDate)).toEqual({
      description: 'd',
      type: ['string', 'null'],
      format: 'date-time',
    });
    expect(serializableSchema(Type.Union([Type.Literal('a'), Type.Literal('b')]))).toEqual({
      type: 'string',
      enum: ['a', 'b'],
    });
    const mixed = Type.Union([Type.String(), Type.Integer()]);
    expect(serializableSchema(mixed)).toEqual(JSON.parse(JSON.stringify(mixed)));
    const nested = Type.Object({ list: Type.Array(Type.Union([Type.Object({ a: Type.String() }), Type.Null()])) });
    expect(JSON.stringify(serializableSchema(nested))).not.toContain('anyOf');
  });

  it('still refuses a value of the wrong type for a nullable field (a 500, never a wrong answer)', () => {
    const schema = Type.Object({
      at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      n: Type.Union([Type.Integer(), Type.Null()]),
    });
    const serialize = fastJson(serializableSchema(schema) as never);
    expect(serialize({ at: null, n: null } as never)).toBe('{"at":null,"n":null}');
    expect(() => serialize({ at: null, n: 'five' } as never)).toThrow(TypeError);
  });

  it('is what a service’s routes answer with, while the route keeps its own schema', async () => {
    const app = await createHttpApp({ logger: false });
    const response = Type.Object({ at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) });
    app.get('/probe', { schema: { response: { 200: response } } }, async () => ({ at: null, hidden: 'no' }));
    app.get('/wrong', { schema: { response: { 200: response } } }, async () => ({ at: 5 }));
    await app.ready();
    const ok = await app.inject('/probe');
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('{"at":null}');
    expect((await app.inject('/wrong')).statusCode).toBe(500);
    expect(JSON.stringify(app.routeTable.find((r) => r.url === '/probe')?.schema)).toContain('anyOf');
    await app.close();
  });
});
