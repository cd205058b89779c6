import { activityAddressProblem, redisMode } from '@immish/contracts';
import type { Static, TObject, TSchema } from 'typebox';
import Value from 'typebox/value';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

function schemaKind(s: TSchema): 'boolean' | 'integer' | 'number' | 'string' | 'other' {
  const t = (s as { type?: unknown }).type;
  if (t === 'boolean' || t === 'integer' || t === 'number' || t === 'string') return t;
  const anyOf = (s as { anyOf?: TSchema[] }).anyOf;
  if (anyOf?.every((x) => typeof (x as { const?: unknown }).const === 'string')) return 'string';
  return 'other';
}

function describe(s: TSchema): string {
  const x = s as {
    anyOf?: { const?: unknown }[];
    minimum?: number;
    maximum?: number;
    minLength?: number;
    pattern?: string;
    type?: string;
  };
  if (x.anyOf) return `one of ${x.anyOf.map((a) => String(a.const)).join(', ')}`;
  if (x.type === 'integer') {
    const max = x.maximum !== undefined && x.maximum < Number.MAX_SAFE_INTEGER ? ` and ${x.maximum}` : '';
    return x.minimum !== undefined ? `an integer between ${x.minimum}${max || ' and more'}` : 'an integer';
  }
  if (x.type === 'boolean') return 'true or false';
  if (x.minLength) return `a string of at least ${x.minLength} characters${x.pattern ? ` matching ${x.pattern}` : ''}`;
  if (x.pattern) return `a string matching ${x.pattern}`;
  return 'a string';
}

/** The message of a `Type.Refine` check the value fails (a variable with its own rule says how to fix it). */
function refinementProblem(s: TSchema, value: unknown): string | null {
  const refinements = (s as { '~refine'?: { check(v: unknown): boolean; error(v: unknown): string }[] })['~refine'];
  for (const r of refinements ?? []) if (!r.check(value)) return r.error(value);
  return null;
}

/**
 * Reads and validates environment variables against a contracts schema (docs/spec.md §12). Every bad or missing
 * variable is reported by name in one error, so an operator fixes them all at once.
 */
export function loadConfig<T extends TObject>(schema: T, env: Env = process.env): Static<T> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, prop] of Object.entries(schema.properties) as [string, TSchema][]) {
    const raw = env[name];
    const def = (prop as { default?: unknown }).default;
    if (raw === undefined || raw === '') {
      if (def === undefined)
        problems.push(`${name}: required (${(prop as { description?: string }).description ?? describe(prop)})`);
      else out[name] = def;
      continue;
    }
    let value: unknown = raw;
    const kind = schemaKind(prop);
    if (kind === 'boolean') {
      const v = raw.trim().toLowerCase();
      value = ['true', '1', 'yes', 'on'].includes(v) ? true : ['false', '0', 'no', 'off'].includes(v) ? false : raw;
    } else if (kind === 'integer' || kind === 'number') {
      value = /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    }
    if (!Value.Check(prop, value)) {
      problems.push(
        `${name}: ${refinementProblem(prop, value) ?? `must be ${describe(prop)}`} (got ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)})`,
      );
      continue;
    }
    out[name] = value;
  }
  // the one rule across variables: exactly one Redis topology (a mix is an operator's mistake, not a precedence)
  if ('REDIS_URL' in schema.properties && !problems.some((p) => p.startsWith('REDIS_'))) {
    const mode = redisMode(out as Parameters<typeof redisMode>[0]);
    if ('problem' in mode) problems.push(mode.problem);
  }
  // the activity log's hash mode needs its key
  if ('ACTIVITY_IP_MODE' in schema.properties && !problems.some((p) => p.startsWith('ACTIVITY_'))) {
    const problem = activityAddressProblem(out as Parameters<typeof activityAddressProblem>[0]);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Static<T>;
}

/** Loads `.env` from the working directory when present (real environment variables win). */
export function loadDotEnv(): void {
  try {
    process.loadEnvFile();
  } catch {
    // no .env: fine
  }
}

/** For main.ts: load config or print what is wrong and exit 1. */
export function loadConfigOrExit<T extends TObject>(schema: T, service: string): Static<T> {
  loadDotEnv();
  try {
    return loadConfig(schema);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${service}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
