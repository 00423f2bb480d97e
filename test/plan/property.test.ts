// Level-based reconcile as a property: planning against the state a plan describes yields no changes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderEnvFile } from '../../src/config/render.js';
import { observedFromDriverSpec, toDriverSpec } from '../../src/drivers/spec.js';
import type { SandboxStatus } from '../../src/drivers/types.js';
import type { ResolvedEnvironment, SandboxSpec } from '../../src/model/types.js';
import { buildPlan } from '../../src/plan/planner.js';
import { hasChanges, type Plan } from '../../src/plan/types.js';

// Built from character sets: fc.stringMatching spends most of this file's time in its unmapper.
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const word = (first: string, rest: string, minRest: number, maxRest: number) =>
  fc
    .tuple(fc.constantFrom(...first), fc.string({ unit: fc.constantFrom(...rest), minLength: minRest, maxLength: maxRest }))
    .map(([head, tail]) => head + tail);
const name = word(LOWER, `${LOWER}0123456789-`, 0, 12);
const service = fc.constantFrom('postgres', 'mysql', 'redis', 'none' as const);
const driver = fc.constantFrom('lightweight', 'namespace', 'docker' as const);
const settingValue = fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.boolean(), word(`${LOWER}0123456789_`, `${LOWER}0123456789_`, 0, 7));

const sandbox = (sandboxName: string) =>
  fc
    .record({
      service,
      driver,
      port: fc.integer({ min: 1024, max: 65535 }),
      version: fc.option(fc.constantFrom('15', '16', '10.11', '7'), { nil: undefined }),
      database: fc.option(word(`${LOWER}_`, `${LOWER}_`, 0, 9), { nil: undefined }),
      user: fc.option(word(`${LOWER}_`, `${LOWER}_`, 0, 9), { nil: undefined }),
      // A marker no plan text contains: a random password could otherwise equal part of a name ("rototype" in "aprototype").
      password: fc.option(
        fc.string({ minLength: 2, maxLength: 16 }).map((s) => `pw§${s}`),
        { nil: undefined },
      ),
      memory: fc.option(fc.constantFrom('256M', '1G'), { nil: undefined }),
      settings: fc.dictionary(word(`${LOWER}_`, `${LOWER}_`, 0, 9), settingValue, { maxKeys: 3 }),
      protect: fc.boolean(),
    })
    .map((fields): SandboxSpec => ({ name: sandboxName, depends_on: [], image: undefined, ...fields }));

const environment = fc
  .uniqueArray(name, { maxLength: 8 })
  .chain((names) => fc.tuple(fc.constant(names), fc.tuple(...names.map(sandbox)), fc.constantFrom('development', 'staging', 'production')))
  .map(([names, specs, env]): ResolvedEnvironment => {
    const sandboxes: Record<string, SandboxSpec> = {};
    specs.forEach((spec, i) => {
      // Depend only on earlier sandboxes: manifests with cycles never validate.
      sandboxes[spec.name] = { ...spec, depends_on: names.slice(0, i).filter((_, j) => (i + j) % 3 === 0) };
    });
    const secrets = specs.map((s) => s.password).filter((p): p is string => p !== undefined);
    return {
      environment: env,
      file: `environments/${env}.yaml`,
      root: '/project',
      sandboxes,
      connections: { logging: { level: 'INFO', console: true, file: false } },
      features: { enable_llm: specs.length % 2 === 0 },
      sensitivePaths: specs.filter((s) => s.password !== undefined).map((s) => `sandboxes.${s.name}.password`),
      secretValues: secrets,
      locations: {},
      variables: {},
    };
  });

/** What the drivers report once a plan for `desired` has been applied. */
function machineAfterApply(desired: ResolvedEnvironment): SandboxStatus[] {
  return Object.values(desired.sandboxes).map((s) => {
    const spec = toDriverSpec(desired.environment, s);
    return {
      name: s.name,
      environment: desired.environment,
      driver: s.driver,
      service: s.service,
      port: s.port,
      running: s.service !== 'none',
      healthy: s.service !== 'none',
      pid: s.service === 'none' ? null : 4242,
      spec_hash: spec.spec_hash,
      spec: observedFromDriverSpec(spec),
      data_bytes: 0,
    };
  });
}

function plan(desired: ResolvedEnvironment, observed: SandboxStatus[], current: string | null): Plan {
  return buildPlan({
    desired,
    observed,
    notices: [],
    envFile: { path: `.iact/env/${desired.environment}.env`, current },
    options: { targets: [], refreshOnly: false, backup: true },
  });
}

describe('planner property', () => {
  it('plans no changes against the state its own plan describes', () => {
    fc.assert(
      fc.property(environment, (desired) => {
        const first = plan(desired, [], null);
        expect(first.summary.create).toBe(Object.keys(desired.sandboxes).length);
        const second = plan(desired, machineAfterApply(desired), renderEnvFile(desired, { mask: false }));
        expect(hasChanges(second)).toBe(false);
        expect(second.summary.no_op).toBe(Object.keys(desired.sandboxes).length);
      }),
      { numRuns: 100 },
    );
  });

  it('never puts a password into the plan', () => {
    fc.assert(
      fc.property(environment, fc.constantFrom(0, 1), (desired, variant) => {
        const observed =
          variant === 0
            ? []
            : machineAfterApply({
                ...desired,
                sandboxes: Object.fromEntries(
                  Object.entries(desired.sandboxes).map(([k, s]) => [k, { ...s, password: `old-${s.password ?? 'x'}-secret` }]),
                ),
              });
        const text = JSON.stringify(plan(desired, observed, null));
        for (const secret of desired.secretValues)
          if (secret.trim().length >= 6) expect(text).not.toContain(JSON.stringify(secret).slice(1, -1));
      }),
      { numRuns: 60 },
    );
  });
});
