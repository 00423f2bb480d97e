// Golden plans: every folder under test/fixtures/plans/ is a case (manifest + observed state ->
// plan.txt, plan.json, plan.md). UPDATE_GOLDEN=1 rewrites the expected files; read them before committing.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePlanFile } from '../../src/plan/planfile.js';
import { writePlanFile } from '../../src/io/planfile.js';
import { renderPlanJson, renderPlanMarkdown, renderPlanText, renderPlans } from '../../src/render/index.js';
import { buildCase, caseNames } from '../fixtures/plans/harness.js';
import { isSensitiveKey } from '../../src/secrets/index.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const GITHUB_LIMIT = 65_536;
const names = caseNames();
const schema = JSON.parse(readFileSync(new URL('../../schemas/plan.schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, validateFormats: false }).compile(schema);
const scratch = mkdtempSync(path.join(tmpdir(), 'iact-golden-out-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function golden(dir: string, file: string, actual: string): void {
  const p = path.join(dir, file);
  if (UPDATE || !existsSync(p)) {
    if (!UPDATE) throw new Error(`${p} is missing: run UPDATE_GOLDEN=1 npx vitest run test/plan/golden.test.ts and read the result`);
    writeFileSync(p, actual);
    return;
  }
  expect(actual, `${p} (UPDATE_GOLDEN=1 to rewrite, then read the diff)`).toBe(readFileSync(p, 'utf8'));
}

describe('golden plans', () => {
  it('has at least 20 cases', () => {
    expect(names.length).toBeGreaterThanOrEqual(20);
  });

  it.each(names)('%s', async (name) => {
    const built = await buildCase(name);
    const { plan, dir, secrets } = built;
    const text = renderPlanText(plan, { color: false });
    const json = renderPlanJson(plan);
    const markdown = renderPlans([plan], 'markdown', { color: false });
    golden(dir, 'plan.txt', text);
    golden(dir, 'plan.json', json);
    golden(dir, 'plan.md', markdown);

    // The JSON is what the schema says it is.
    const ok = validate(JSON.parse(json));
    expect(validate.errors ?? [], `${name}: plan.json against schemas/plan.schema.json`).toEqual([]);
    expect(ok).toBe(true);

    // The last line is the summary, in one of its three forms.
    const last = text.trimEnd().split('\n').pop()!;
    expect(last).toMatch(
      /^(Plan: \d+ to create, \d+ to update, \d+ to replace, \d+ to delete, \d+ to start\.|No changes\. \S+ matches its manifest\.|No changes in what iact could observe; see the (errors|warnings) above\.|No drift\. .+|Drift: .+)$/,
    );

    // Every comment body fits GitHub.
    for (const body of renderPlanMarkdown([plan])) expect(body.length).toBeLessThan(GITHUB_LIMIT);

    // No secret anywhere: renderings, colour rendering and the saved plan file.
    const variables = existsSync(path.join(dir, 'variables.env')) ? readFileSync(path.join(dir, 'variables.env'), 'utf8') : '';
    const secretNamed = variables.split('\n').some((line) => isSensitiveKey(line.split('=')[0]!.trim()));
    if (secretNamed) expect(secrets.length, `${name}: the secrets of variables.env are checked`).toBeGreaterThan(0);
    const file = path.join(scratch, `${name}.plan`);
    await writePlanFile(file, plan);
    const saved = readFileSync(file, 'utf8');
    const coloured = renderPlanText(plan, { color: true });
    // `iact show FILE` says exactly what `iact plan` said.
    const reread = parsePlanFile(saved, `${name}.plan`);
    expect(renderPlanText(reread, { color: false })).toBe(text);
    expect(renderPlans([reread], 'markdown', { color: false })).toBe(markdown);
    for (const secret of secrets) {
      for (const [what, output] of [
        ['text', text],
        ['colour text', coloured],
        ['json', json],
        ['markdown', markdown],
        ['plan file', saved],
      ] as const) {
        expect(output.includes(secret), `${name}: a secret appears in the ${what} output`).toBe(false);
      }
    }
  });
});
