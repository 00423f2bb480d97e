import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import show from '../../src/commands/show.js';
import type { CommandIO } from '../../src/commands/io.js';
import { DiagnosticError, formatDiagnostics } from '../../src/diagnostics.js';
import { parsePlanFile, serializePlanFile } from '../../src/plan/planfile.js';
import { readPlanFile, writePlanFile } from '../../src/io/planfile.js';
import { renderPlanJson, renderPlanMarkdown, renderPlanText } from '../../src/render/index.js';
import { SECRETS, everyActionPlan } from './sample-plans.js';

const dir = mkdtempSync(path.join(tmpdir(), 'iact-planfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function diagnosticOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DiagnosticError);
    return formatDiagnostics((error as DiagnosticError).diagnostics);
  }
  throw new Error('expected a DiagnosticError');
}

async function diagnosticOfAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DiagnosticError);
    return formatDiagnostics((error as DiagnosticError).diagnostics);
  }
  throw new Error('expected a DiagnosticError');
}

function captureIO(color = false): CommandIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { cwd: dir, env: {}, stdout: (t) => out.push(t), stderr: (t) => err.push(t), isTTY: false, color, out, err };
}

describe('plan files', () => {
  const plan = everyActionPlan();
  const createdAt = '2026-01-02T03:04:05.000Z';

  it('round-trips: what is read renders exactly like what was written', () => {
    const text = serializePlanFile(plan, createdAt);
    const back = parsePlanFile(text, 'dev.plan');
    expect(back.created_at).toBe(createdAt);
    expect(renderPlanText(back, { color: false })).toBe(renderPlanText(plan, { color: false }));
    expect(renderPlanMarkdown([back])).toEqual(renderPlanMarkdown([plan]));
    expect(renderPlanJson(back)).toBe(renderPlanJson({ ...plan, created_at: createdAt }));
    expect(serializePlanFile(back, createdAt)).toBe(text);
  });

  it('refuses another format version with "expected 2, received 1"', () => {
    const text = serializePlanFile(plan, createdAt).replace('"format_version": 2', '"format_version": 1');
    const message = diagnosticOf(() => parsePlanFile(text, 'dev.plan'));
    expect(message).toContain('expected 2, received 1');
    expect(message).toContain('dev.plan');
    expect(message).toContain('fix: create a new plan with `iact plan --out FILE`');
  });

  it('says where a file that is not JSON breaks', () => {
    const message = diagnosticOf(() => parsePlanFile('{\n  "format_version": 2,\n  oops\n}\n', 'dev.plan'));
    expect(message).toMatch(/^dev\.plan:3:\d+ {2}error: dev\.plan is not an iact plan file \(not JSON\)\n {2}fix: /);
    expect(message).not.toContain('oops');
  });

  it('never echoes the content of a file that is not JSON (a secret, binary bytes)', () => {
    const secret = diagnosticOf(() => parsePlanFile('PW=hunter2xyz\n', '.env'));
    expect(secret).toBe(
      '.env:1:1  error: .env is not an iact plan file (not JSON)\n  fix: check the path: show and apply read the files `iact plan --out FILE` writes',
    );
    const binary = diagnosticOf(() => parsePlanFile('\u0000\u00ff\u001b[31mGARBAGE', 'x.bin'));
    expect(binary).not.toMatch(/GARBAGE|\u001b|\u0000/);
  });

  it('lists missing and mistyped fields', () => {
    const raw = JSON.parse(serializePlanFile(plan, createdAt)) as Record<string, unknown> & { changes: Array<Record<string, unknown>> };
    delete raw.fingerprint;
    raw.changes[1] = { ...raw.changes[1], action: 'destroy' };
    const message = diagnosticOf(() => parsePlanFile(JSON.stringify(raw), 'dev.plan'));
    expect(message).toContain('dev.plan is not a valid plan file (2 problems)');
    expect(message).toContain('plan.fingerprint: missing');
    expect(message).toContain('plan.changes[1].action: expected one of create, update, replace, start, delete, no-op, received "destroy"');
    expect(diagnosticOf(() => parsePlanFile('[1]', 'x.plan'))).toContain('expected a JSON object');
  });

  it('is written atomically with mode 0600 and holds no secret', async () => {
    const file = path.join(dir, 'dev.plan');
    await writePlanFile(file, plan, new Date(createdAt));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    const back = await readPlanFile(file);
    expect(back.created_at).toBe(createdAt);
    expect(back.fingerprint).toBe(plan.fingerprint);
  });

  it('reports a missing file, a folder, and an unwritable path as diagnostics', async () => {
    expect(await diagnosticOfAsync(() => readPlanFile(path.join(dir, 'nope.plan'), 'nope.plan'))).toContain(
      'error: plan file nope.plan not found\n  fix: create it with `iact plan --out nope.plan`',
    );
    mkdirSync(path.join(dir, 'folder.plan'), { recursive: true });
    expect(await diagnosticOfAsync(() => readPlanFile(path.join(dir, 'folder.plan'), 'folder.plan'))).toContain(
      'pass the plan file, not a folder',
    );
    expect(await diagnosticOfAsync(() => writePlanFile(path.join(dir, 'no', 'such', 'dir.plan'), plan))).toContain(
      'cannot write plan file',
    );
  });
});

describe('iact show', () => {
  const file = path.join(dir, 'show.plan');
  writeFileSync(file, serializePlanFile(everyActionPlan(), '2026-01-02T03:04:05.000Z'));

  it('renders a saved plan as text, json and markdown', async () => {
    const plan = parsePlanFile(readFileSync(file, 'utf8'), 'show.plan');
    for (const [format, expected] of [
      ['text', renderPlanText(plan, { color: false })],
      ['json', renderPlanJson(plan)],
      ['markdown', renderPlanMarkdown([plan]).join('')],
    ] as const) {
      const io = captureIO();
      expect(await show({ format }, io, ['show.plan'])).toBe(0);
      expect(io.out.join('')).toBe(expected);
      expect(io.err).toEqual([]);
    }
  });

  it('colours text only when the terminal allows it', async () => {
    const io = captureIO(true);
    await show({ format: 'text' }, io, ['show.plan']);
    expect(io.out.join('')).toMatch(/\u001b\[/);
    const json = captureIO(true);
    await show({ format: 'json' }, json, ['show.plan']);
    expect(json.out.join('')).not.toMatch(/\u001b\[/);
  });

  it('fails with a diagnostic for a missing or stale-format file', async () => {
    expect(await diagnosticOfAsync(() => show({ format: 'text' }, captureIO(), ['missing.plan']))).toContain(
      'plan file missing.plan not found',
    );
    writeFileSync(path.join(dir, 'v1.plan'), '{"format_version": 1}');
    expect(await diagnosticOfAsync(() => show({ format: 'text' }, captureIO(), ['v1.plan']))).toContain('expected 2, received 1');
  });

  it('refuses a file that is not JSON without printing what is in it', async () => {
    writeFileSync(path.join(dir, 'secret.plan'), 'PW=hunter2xyz\n');
    const message = await diagnosticOfAsync(() => show({ format: 'text' }, captureIO(), ['secret.plan']));
    expect(message).toContain('secret.plan is not an iact plan file (not JSON)');
    expect(message).not.toContain('hunter2');
  });
});
