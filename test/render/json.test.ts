import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { SERVICES } from '../../src/catalog/index.js';
import { ACTIONS, DRIFT_KINDS, IMPACTS, PLAN_FORMAT_VERSION, STEPS } from '../../src/plan/types.js';
import { MASKED } from '../../src/secrets/index.js';
import type { Plan } from '../../src/plan/types.js';
import { renderPlanJson, renderPlans } from '../../src/render/index.js';
import { SECRETS, emptyPlan, everyActionPlan, hugePlan } from './sample-plans.js';

const schema = JSON.parse(readFileSync(new URL('../../schemas/plan.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, validateFormats: false }).compile(schema);

function valid(value: unknown): boolean {
  const ok = validate(value);
  expect(validate.errors ?? []).toEqual([]);
  return ok;
}

/** The same plan with every object's keys inserted in reverse order. */
function reversed<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversed) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reversed(v)]),
  ) as T;
}

describe('renderPlanJson', () => {
  it('is valid against schemas/plan.schema.json for every action, an empty plan and a big one', () => {
    for (const plan of [everyActionPlan(), emptyPlan(), emptyPlan('x', true), hugePlan(50)]) {
      const text = renderPlanJson(plan);
      expect(text.endsWith('}\n')).toBe(true);
      expect(valid(JSON.parse(text))).toBe(true);
    }
  });

  it('has a documented $id, 2020-12 and a description on every definition', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/plan\.schema\.json$/);
    for (const [name, def] of Object.entries(schema.$defs as Record<string, Record<string, unknown>>)) {
      expect(def.description, `$defs.${name}`).toBeTypeOf('string');
    }
  });

  it('lists exactly the closed sets the code has: steps, drift kinds, actions, impacts, services, the version', () => {
    const defs = schema.$defs as Record<string, { enum?: unknown[]; properties?: Record<string, { enum?: unknown[]; const?: unknown }> }>;
    expect(defs.step!.enum).toEqual([...STEPS]);
    expect(defs.drift!.properties!.kind!.enum).toEqual([...DRIFT_KINDS]);
    expect(defs.action!.enum).toEqual([...ACTIONS]);
    expect(defs.impact!.enum).toEqual([...IMPACTS]);
    expect(defs.resourceChange!.properties!.service!.enum).toEqual([...SERVICES]);
    expect(defs.plan!.properties!.format_version!.const).toBe(PLAN_FORMAT_VERSION);
  });

  it('rejects what a plan is not', () => {
    const plan = JSON.parse(renderPlanJson(everyActionPlan())) as Record<string, unknown> & { changes: Array<Record<string, unknown>> };
    expect(validate({ ...plan, format_version: 1 })).toBe(false);
    expect(validate({ ...plan, changes: [{ ...plan.changes[0], action: 'destroy' }] })).toBe(false);
    expect(validate({ ...plan, changes: [{ ...plan.changes[0], impact: 'minor' }] })).toBe(false);
    const { fingerprint: _f, ...noFingerprint } = plan;
    expect(validate(noFingerprint)).toBe(false);
  });

  it('writes keys in one fixed order whatever order the plan was built in', () => {
    const plan = everyActionPlan();
    const text = renderPlanJson(plan);
    expect(renderPlanJson(reversed(plan))).toBe(text);
    expect(Object.keys(JSON.parse(text) as object).slice(0, 8)).toEqual([
      'format_version',
      'environment',
      'fingerprint',
      'refresh_only',
      'targets',
      'summary',
      'changes',
      'config_changes',
    ]);
    const change = (JSON.parse(text) as Plan).changes[0]!;
    expect(Object.keys(change).slice(0, 6)).toEqual(['address', 'name', 'service', 'driver', 'action', 'impact']);
  });

  it('keeps masks and salted hashes, masks anything else under a secret name', () => {
    const plan = everyActionPlan();
    plan.changes[0]!.after = { ...plan.changes[0]!.after, password: SECRETS[0]! };
    plan.changes[3]!.fields[0] = { ...plan.changes[3]!.fields[0]!, before: SECRETS[0]!, after: SECRETS[1]! };
    const text = renderPlanJson(plan);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    const parsed = JSON.parse(text) as Plan;
    expect(parsed.changes[0]!.after!.password).toBe(MASKED);
    expect(parsed.changes[6]!.before!.password_hash).toBe('sha256:0123456789abcdef');
    expect(parsed.inputs.variables).toEqual({ DB_PASSWORD: 'sha256:bbbb' });
  });

  it('renders --all as an array, each element a plan', () => {
    const text = renderPlans([everyActionPlan(), emptyPlan()], 'json', { color: false });
    const parsed = JSON.parse(text) as Plan[];
    expect(parsed.map((p) => p.environment)).toEqual(['development', 'staging']);
    expect(valid(parsed)).toBe(true);
    expect(Array.isArray(JSON.parse(renderPlans([emptyPlan()], 'json', { color: false, array: true })))).toBe(true);
    expect(Array.isArray(JSON.parse(renderPlans([emptyPlan()], 'json', { color: false })))).toBe(false);
  });
});
