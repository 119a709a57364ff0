import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { API, bearer, createUser, get, signIn } from '../../test/helpers';

interface Schema {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  items?: Schema;
  format?: string;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  default?: unknown;
}
interface Operation {
  parameters?: { name: string; in: 'path' | 'query' | 'header' | 'cookie'; required?: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string }>;
}
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

let doc: Doc;
/** An admin first; a Premium client for the few operations only clients may call (admins get 403 there). */
let tokens: string[] = [];
beforeAll(async () => {
  doc = (await (await get('/api/openapi.json')).json()) as Doc;
  const [admin, client] = await Promise.all([createUser({ role: 'ADMIN' }), createUser({ role: 'CLIENT', tier: 'PREMIUM' })]);
  tokens = [await signIn(admin.email), await signIn(client.email)];
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));

/** Bodies whose rules span fields (one of two, start before end), which `sample` cannot see. */
const EXAMPLES: Record<string, unknown> = { AvailabilityInput: { dayOfWeek: 1, startTime: '09:00', endTime: '10:00' } };

/** A plausible value for `schema`: every property given, the first enum member, the minimum. */
function sample(schema: Schema): unknown {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    return EXAMPLES[name] ?? sample(doc.components.schemas[name]!);
  }
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return sample(options.find((o) => o.type !== 'null') ?? options[0]!);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s) => sample(s) as object));
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, sample(v)]));
    case 'array':
      return Array.from({ length: schema.minItems ?? 1 }, () => sample(schema.items ?? { type: 'string' }));
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
    case 'boolean':
      return false;
    case 'string': {
      if (schema.format === 'date-time') return new Date(Math.ceil((Date.now() + 3 * 86_400_000) / 1_800_000) * 1_800_000).toISOString();
      if (schema.format === 'uri' || schema.format === 'url') return 'https://example.com/calm.mp3';
      if (schema.format === 'email') return 'someone@example.com';
      if (schema.pattern) {
        const re = new RegExp(schema.pattern);
        return ['10:00', '2030-01-07', 'Europe/London', 'x'].find((c) => re.test(c)) ?? 'x';
      }
      return 'Something to say'.padEnd(schema.minLength ?? 0, '.');
    }
    default:
      return 'x';
  }
}

/**
 * Fills `path`'s {params} with `value` and sends a request that is valid in every other way, as the
 * first of `tokens` the operation lets past its role check.
 */
async function call(path: string, method: string, op: Operation, value: string) {
  const url = new URL(`${API}${path.replace(/\{[^}]+\}/g, encodeURIComponent(value))}`);
  for (const p of op.parameters ?? []) if (p.in === 'query' && p.required) url.searchParams.set(p.name, String(sample(p.schema)));
  const json = op.requestBody?.content['application/json'];
  let answer = { status: 0, text: '' };
  for (const token of tokens) {
    const res = await SELF.fetch(url, {
      method,
      headers: { ...bearer(token), ...(json ? { 'Content-Type': 'application/json' } : {}) },
      ...(json ? { body: JSON.stringify(sample(json.schema)) } : {}),
    });
    answer = { status: res.status, text: await res.text() };
    if (answer.status !== 403) break;
  }
  return answer;
}

describe('the OpenAPI document', () => {
  it('lists 400 VALIDATION_ERROR for every operation that takes parameters or a body', () => {
    const takesInput = operations().filter(({ op }) => (op.parameters?.length ?? 0) > 0 || op.requestBody);
    expect(takesInput.length).toBeGreaterThan(25);
    const missing = takesInput.filter(({ op }) => !op.responses['400']).map(({ method, path }) => `${method} ${path}`);
    expect(missing).toEqual([]);
    for (const { op } of takesInput) expect(op.responses['400']!.description).toContain('VALIDATION_ERROR');
  });
});

describe('a malformed or unknown path parameter, from a caller the operation lets in', () => {
  const withPathParams = () => operations().filter(({ op }) => op.parameters?.some((p) => p.in === 'path'));

  it('is refused with a documented 400 when it breaks the schema (too long)', async () => {
    expect(withPathParams().length).toBeGreaterThan(10);
    const wrong: string[] = [];
    for (const { path, method, op } of withPathParams()) {
      const { status, text } = await call(path, method, op, 'x'.repeat(300));
      if (status !== 400 || !text.includes('VALIDATION_ERROR') || !op.responses[String(status)])
        wrong.push(`${method} ${path}: ${status} ${text.slice(0, 120)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('is answered 400 or 404, never 500, when it names nothing or carries odd characters', async () => {
    const wrong: string[] = [];
    for (const value of [crypto.randomUUID(), "' OR 1=1 --", '..', 'ℌ𝔢𝔩𝔩𝔬\u202e', '%00', '-1', '9'.repeat(40)]) {
      for (const { path, method, op } of withPathParams()) {
        const { status, text } = await call(path, method, op, value);
        if (![400, 404].includes(status) || !op.responses[String(status)]) wrong.push(`${method} ${path} [${value}]: ${status} ${text.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
    // Seven values × every operation with a path parameter, one request at a time: more than the default 5 s on a busy machine.
  }, 30_000);
});

describe('the Origin check in the document', () => {
  it('lists 403 for every change, which a page of another site (or the cookie alone) gets', async () => {
    const changes = operations().filter((o) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(o.method));
    expect(changes.filter((o) => !o.op.responses['403']).map((o) => `${o.method} ${o.path}`)).toEqual([]);
    // And it is what such a page gets: a change with the cookie alone and no Origin.
    const res = await SELF.fetch(`${API}/api/users/me/profile`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', Cookie: `hc_session=${tokens[1]}` },
      body: JSON.stringify({ symptoms: 'x' }),
    });
    expect(res.status).toBe(403);
  });
});
