// Plan files (`iact plan --out FILE`): the JSON plan plus created_at. Pure: text in, text out.
import { DiagnosticError, diag } from '../diagnostics.js';
import { planToJson } from './json.js';
import { ACTIONS, DRIFT_KINDS, IMPACTS, PLAN_FORMAT_VERSION, STEPS } from './types.js';
import type { Plan } from './types.js';

export function serializePlanFile(plan: Plan, createdAt: string): string {
  return `${JSON.stringify(planToJson({ ...plan, created_at: createdAt }), null, 2)}\n`;
}

const RECREATE = 'create a new plan with `iact plan --out FILE` and apply that';

/** 1-based line and column of a character offset. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

type Check = (value: unknown) => boolean;
const isString: Check = (v) => typeof v === 'string';
const isBool: Check = (v) => typeof v === 'boolean';
const isCount: Check = (v) => Number.isInteger(v) && (v as number) >= 0;
const isStringArray: Check = (v) => Array.isArray(v) && v.every(isString);
const isRecord: Check = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isRecordOrNull: Check = (v) => v === null || isRecord(v);
const isArray: Check = (v) => Array.isArray(v);
const isDriftList: Check = (v) =>
  Array.isArray(v) &&
  v.every(
    (d) =>
      isRecord(d) &&
      (DRIFT_KINDS as readonly unknown[]).includes((d as Record<string, unknown>).kind) &&
      ['undefined', 'string'].includes(typeof (d as Record<string, unknown>).detail),
  );
const isStepList: Check = (v) => Array.isArray(v) && v.every((s) => (STEPS as readonly unknown[]).includes(s));
const oneOf =
  (values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v);

const PLAN_FIELDS: Record<string, [Check, string]> = {
  environment: [isString, 'a string'],
  fingerprint: [isString, 'a string'],
  inputs: [isRecord, 'an object'],
  refresh_only: [isBool, 'true or false'],
  targets: [isStringArray, 'a list of sandbox names'],
  changes: [isArray, 'a list'],
  config_changes: [isArray, 'a list'],
  notices: [isArray, 'a list'],
  summary: [isRecord, 'an object'],
};

const CHANGE_FIELDS: Record<string, [Check, string]> = {
  address: [isString, 'a string'],
  name: [isString, 'a string'],
  driver: [isString, 'a string'],
  service: [isString, 'a string'],
  action: [oneOf(ACTIONS), `one of ${ACTIONS.join(', ')}`],
  impact: [oneOf(IMPACTS), `one of ${IMPACTS.join(', ')}`],
  reasons: [isStringArray, 'a list of strings'],
  before: [isRecordOrNull, 'an object or null'],
  after: [isRecordOrNull, 'an object or null'],
  fields: [isArray, 'a list'],
  steps: [isStepList, `a list of steps (${STEPS.join(', ')})`],
  drift: [isDriftList, `a list of { kind, detail? } (kind: ${DRIFT_KINDS.join(', ')})`],
  backup: [isBool, 'true or false'],
  requiresAllowDestroy: [isBool, 'true or false'],
  depends_on: [isStringArray, 'a list of sandbox names'],
};

const FIELD_FIELDS: Record<string, [Check, string]> = {
  field: [isString, 'a string'],
  sensitive: [isBool, 'true or false'],
  impact: [oneOf(IMPACTS), `one of ${IMPACTS.join(', ')}`],
  metadataOnly: [isBool, 'true or false'],
};

const CONFIG_FIELDS: Record<string, [Check, string]> = {
  path: [isString, 'a string'],
  action: [oneOf(['create', 'update', 'delete', 'no-op']), 'one of create, update, delete, no-op'],
  diff: [isString, 'a string'],
};

const NOTICE_FIELDS: Record<string, [Check, string]> = {
  severity: [oneOf(['error', 'warning']), 'error or warning'],
  summary: [isString, 'a string'],
};

const INPUT_FIELDS: Record<string, [Check, string]> = {
  manifest: [isString, 'a string'],
  variables: [isRecord, 'an object'],
  observed: [isRecord, 'an object'],
  env_file: [isString, 'a string'],
};

const SUMMARY_FIELDS: Record<string, [Check, string]> = Object.fromEntries(
  ['create', 'update', 'replace', 'delete', 'start', 'no_op', 'config'].map((k) => [k, [isCount, 'a count'] as [Check, string]]),
);

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function checkFields(value: unknown, where: string, fields: Record<string, [Check, string]>, problems: string[]): void {
  if (!isRecord(value)) {
    problems.push(`${where}: expected an object, received ${describe(value)}`);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const [key, [check, expected]] of Object.entries(fields)) {
    if (!(key in obj)) problems.push(`${where}.${key}: missing`);
    else if (!check(obj[key])) problems.push(`${where}.${key}: expected ${expected}, received ${describe(obj[key])}`);
  }
}

/** Reads a plan file's text; throws DiagnosticError naming the file and what is wrong. */
export function parsePlanFile(text: string, file: string): Plan {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    // JSON.parse's message quotes the file's first bytes, which may be a secret or binary: only the position is kept.
    const message = error instanceof Error ? error.message : String(error);
    const at = /position (\d+)/.exec(message);
    const location = at ? { file, ...lineCol(text, Number(at[1])) } : { file, line: 1, col: 1 };
    throw new DiagnosticError(
      diag(`${file} is not an iact plan file (not JSON)`, {
        location,
        fix: 'check the path: show and apply read the files `iact plan --out FILE` writes',
        code: 'planfile.json',
      }),
    );
  }
  if (!isRecord(raw)) {
    throw new DiagnosticError(
      diag(`${file} is not a plan file: expected a JSON object`, {
        location: { file, line: 1, col: 1 },
        fix: RECREATE,
        code: 'planfile.shape',
      }),
    );
  }
  const rawPlan = raw as Record<string, unknown>;
  const version = rawPlan.format_version;
  if (version !== PLAN_FORMAT_VERSION) {
    throw new DiagnosticError(
      diag(`${file} has an unsupported plan format version: expected ${PLAN_FORMAT_VERSION}, received ${describe(version)}`, {
        location: { file, line: 1, col: 1 },
        detail: 'It was written by another version of iact.',
        fix: `${RECREATE} with this version of iact`,
        code: 'planfile.version',
      }),
    );
  }
  const problems: string[] = [];
  checkFields(rawPlan, 'plan', PLAN_FIELDS, problems);
  if (isRecord(rawPlan.inputs)) checkFields(rawPlan.inputs, 'plan.inputs', INPUT_FIELDS, problems);
  if (isRecord(rawPlan.summary)) checkFields(rawPlan.summary, 'plan.summary', SUMMARY_FIELDS, problems);
  if (Array.isArray(rawPlan.changes)) {
    rawPlan.changes.forEach((c: unknown, i) => {
      checkFields(c, `plan.changes[${i}]`, CHANGE_FIELDS, problems);
      const fields = isRecord(c) ? (c as Record<string, unknown>).fields : undefined;
      if (Array.isArray(fields))
        fields.forEach((f: unknown, j) => checkFields(f, `plan.changes[${i}].fields[${j}]`, FIELD_FIELDS, problems));
    });
  }
  if (Array.isArray(rawPlan.config_changes)) {
    rawPlan.config_changes.forEach((c: unknown, i) => checkFields(c, `plan.config_changes[${i}]`, CONFIG_FIELDS, problems));
  }
  if (Array.isArray(rawPlan.notices)) {
    rawPlan.notices.forEach((n: unknown, i) => checkFields(n, `plan.notices[${i}]`, NOTICE_FIELDS, problems));
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 10);
    if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
    throw new DiagnosticError(
      diag(`${file} is not a valid plan file (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'})`, {
        location: { file, line: 1, col: 1 },
        detail: shown.join('\n'),
        fix: RECREATE,
        code: 'planfile.shape',
      }),
    );
  }
  return rawPlan as unknown as Plan;
}
