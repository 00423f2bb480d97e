// Text plan in Terraform's idiom. Pure: the plan in, a string out; colour only when asked.
import type { Action, ConfigChange, DisplayValue, FieldChange, Plan, ResourceChange } from '../plan/types.js';
import { isSensitiveKey, MASKED, MASKED_CHANGED } from '../secrets/index.js';
import {
  LEGEND,
  SYMBOLS,
  configChanges,
  configSummary,
  configVerbOf,
  formatValue,
  guardNote,
  impactNote,
  isObject,
  isShown,
  reasonsOf,
  stepsNote,
  sortedKeys,
  summaryLine,
  verbOf,
} from './common.js';
import { type Palette, paintMark, palette } from './palette.js';

export interface TextOptions {
  color: boolean;
}

/** Symbol for a field or attribute line: + added, - removed, ~ changed. */
type Mark = '+' | '-' | '~' | ' ';

/** An action's symbol in its colour, right-aligned in three columns. */
function actionMark(action: Action, p: Palette): string {
  return `${' '.repeat(Math.max(0, 3 - SYMBOLS[action].length))}${paintMark(SYMBOLS[action], p)}`;
}

const indentOf = (depth: number): string => ' '.repeat(6 + 4 * depth);
const closeIndentOf = (depth: number): string => ' '.repeat(4 + 4 * depth);

/** `      + name = value`, names padded so the `=` line up within one block. */
function attrLine(depth: number, mark: Mark, name: string, width: number, value: string, p: Palette, note = ''): string {
  const comment = note ? ` ${p.dim(`# ${note}`)}` : '';
  return `${indentOf(depth)}${paintMark(mark, p)} ${name.padEnd(width)} = ${value}${comment}`;
}

/**
 * The display record with its dotted fields (engine.host, ssh.port) as nested records, as settings
 * already are: each group renders as one block, new, gone or changed as a whole.
 */
function grouped(record: Record<string, DisplayValue>): Record<string, DisplayValue> {
  const out: Record<string, DisplayValue> = {};
  for (const [key, value] of Object.entries(record)) {
    const dot = key.indexOf('.');
    if (dot < 0) out[key] = value;
    else ((out[key.slice(0, dot)] ??= {}) as Record<string, DisplayValue>)[key.slice(dot + 1)] = value;
  }
  return out;
}

/** Every attribute of a record with one mark (create: all +, delete: all -), nested objects as blocks. */
function recordLines(record: Record<string, DisplayValue>, mark: Mark, depth: number, p: Palette): string[] {
  const keys = sortedKeys(record);
  const flat = keys.filter((k) => !(isObject(record[k]) && Object.keys(record[k] as object).length > 0));
  const width = Math.max(0, ...flat.map((k) => k.length));
  const lines: string[] = [];
  for (const key of keys) {
    const value = record[key];
    if (isObject(value) && Object.keys(value).length > 0 && !isSensitiveKey(key)) {
      lines.push(`${indentOf(depth)}${paintMark(mark, p)} ${key} {`);
      lines.push(...recordLines(value, mark, depth + 1, p));
      lines.push(`${closeIndentOf(depth + 1)}}`);
    } else {
      lines.push(attrLine(depth, mark, key, width, formatValue(value, key), p));
    }
  }
  return lines;
}

function fieldMark(f: FieldChange): Mark {
  if (f.before === undefined && f.after !== undefined) return '+';
  if (f.after === undefined && f.before !== undefined) return '-';
  return '~';
}

function fieldValue(f: FieldChange, name: string): string {
  const mark = fieldMark(f);
  if (f.sensitive || isSensitiveKey(name) || isSensitiveKey(f.field)) {
    return mark === '~' ? MASKED_CHANGED : MASKED;
  }
  if (mark === '+') return formatValue(f.after, name);
  if (mark === '-') return formatValue(f.before, name);
  return `${formatValue(f.before, name)} -> ${formatValue(f.after, name)}`;
}

function fieldNote(f: FieldChange, action: Action): string {
  if (f.metadataOnly) return 'no machine change';
  if (f.impact === 'data-loss') return action === 'replace' ? 'forces replacement' : 'data-loss';
  if (f.impact === 'restart') return 'restart';
  if (f.impact === 'reload') return 'reload';
  return '';
}

/** Field changes of an update or replace, by name; dotted fields (settings.x) grouped in nested blocks. */
function fieldLines(change: ResourceChange, p: Palette): string[] {
  const { fields, action } = change;
  const before = change.before && grouped(change.before);
  const after = change.after && grouped(change.after);
  const top = fields.filter((f) => !f.field.includes('.'));
  const groups = new Map<string, FieldChange[]>();
  for (const f of fields) {
    const dot = f.field.indexOf('.');
    if (dot < 0) continue;
    const group = f.field.slice(0, dot);
    groups.set(group, [...(groups.get(group) ?? []), f]);
  }
  const width = Math.max(0, ...top.map((f) => f.field.length));
  const entries: Array<{ key: string; lines: string[] }> = [];
  for (const f of top) {
    entries.push({ key: f.field, lines: [attrLine(0, fieldMark(f), f.field, width, fieldValue(f, f.field), p, fieldNote(f, action))] });
  }
  for (const [group, members] of groups) {
    // A block is added or removed only when the whole object is new or gone, not just some keys.
    const groupMark: Mark = before?.[group] === undefined ? '+' : after?.[group] === undefined ? '-' : '~';
    const inner = members.map((f) => ({ f, name: f.field.slice(group.length + 1) }));
    inner.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const innerWidth = Math.max(0, ...inner.map((i) => i.name.length));
    entries.push({
      key: group,
      lines: [
        `${indentOf(0)}${paintMark(groupMark, p)} ${group} {`,
        ...inner.map(({ f, name }) => attrLine(1, fieldMark(f), name, innerWidth, fieldValue(f, name), p, fieldNote(f, action))),
        `${closeIndentOf(1)}}`,
      ],
    });
  }
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return entries.flatMap((e) => e.lines);
}

function hiddenCount(change: ResourceChange): number {
  if (!change.after) return 0;
  const touched = new Set(change.fields.map((f) => f.field.split('.')[0]));
  return Object.keys(grouped(change.after)).filter((k) => !touched.has(k)).length;
}

function resourceLines(change: ResourceChange, environment: string, refreshOnly: boolean, p: Palette): string[] {
  const impact = impactNote(change, environment);
  const head = `  # ${change.address} (${change.service}, ${change.driver}) ${verbOf(change, refreshOnly)}${impact ? ` (${impact})` : ''}`;
  const lines = [p.bold(head)];
  for (const reason of reasonsOf(change)) lines.push(`  #   ${reason}`);
  const steps = stepsNote(change);
  if (steps) lines.push(`  # ${steps}`);
  if (change.requiresAllowDestroy) lines.push(p.bold(`  #   ${guardNote(environment)}: apply refuses this without --allow-destroy`));

  const prefix = `${actionMark(change.action, p)} ${change.address}`;
  let body: string[] = [];
  switch (change.action) {
    case 'create':
      body = change.after ? recordLines(grouped(change.after), '+', 0, p) : [];
      break;
    case 'delete':
      body = change.before ? recordLines(grouped(change.before), '-', 0, p) : [];
      break;
    case 'update':
    case 'replace': {
      if (change.fields.length > 0) {
        body = fieldLines(change, p);
        const hidden = hiddenCount(change);
        if (hidden > 0) body.push(p.dim(`${' '.repeat(8)}# (${hidden} unchanged ${hidden === 1 ? 'field' : 'fields'} hidden)`));
      } else if (change.action === 'replace' && change.after) {
        body = recordLines(grouped(change.after), '+', 0, p);
      }
      break;
    }
    case 'start':
    case 'no-op':
      body = [];
      break;
  }
  if (body.length === 0) lines.push(prefix);
  else lines.push(`${prefix} {`, ...body, '    }');
  return lines;
}

/** Diff lines of the settings file, one marker column like the attributes, file headers dropped. */
function configLines(change: ConfigChange, p: Palette): string[] {
  const mark: Mark = change.action === 'create' ? '+' : change.action === 'delete' ? '-' : '~';
  const lines = [p.bold(`  # ${change.path} ${configVerbOf(change)}`), `  ${paintMark(mark, p)} ${change.path}`];
  let inHunks = false;
  for (const raw of change.diff.split('\n')) {
    if (!inHunks) {
      if (!raw.startsWith('@@')) continue; // Index:, ===, ---, +++ headers
      inHunks = true;
    }
    if (raw === '') continue;
    const first = raw[0];
    const rest = raw.slice(1);
    if (raw.startsWith('@@')) lines.push(`${indentOf(0)}${p.cyan(raw)}`);
    else if (first === '+') lines.push(`${indentOf(0)}${p.green(`+ ${rest}`)}`);
    else if (first === '-') lines.push(`${indentOf(0)}${p.red(`- ${rest}`)}`);
    else if (first === '\\') lines.push(`${indentOf(0)}${p.dim(`  ${raw}`)}`);
    else lines.push(`${indentOf(0)}  ${rest}`);
  }
  return lines;
}

/** Like the CLI's diagnostics (summary, indented detail, `fix:`), labelled as Terraform labels them. */
function noticeLines(plan: Plan, p: Palette): string[] {
  return plan.notices.map((n) => {
    const label = n.severity === 'error' ? p.bold(p.red('Error:')) : p.bold(p.yellow('Warning:'));
    const lines = [`${label} ${n.summary}`];
    if (n.detail) lines.push(...n.detail.split('\n').map((l) => `  ${l}`));
    if (n.fix) lines.push(`  fix: ${n.fix}`);
    return lines.join('\n');
  });
}

export function renderPlanText(plan: Plan, opts: TextOptions): string {
  const p = palette(opts.color);
  const out: string[] = [];
  const mode = plan.refresh_only ? ' (refresh-only: drift is reported, nothing is changed)' : '';
  out.push(p.bold(`Environment: ${plan.environment}${mode}`));
  if (plan.targets.length > 0) {
    out.push(`Targets: ${plan.targets.join(', ')} and what they depend on; other sandboxes are neither shown nor changed.`);
  }
  out.push('');

  const shown = plan.changes.filter(isShown);
  const settings = configChanges(plan);
  if (shown.length > 0 || settings.length > 0) {
    const used = new Set(shown.map((c) => c.action));
    const legend = (['create', 'update', 'replace', 'delete', 'start'] as const).filter((a) => used.has(a));
    if (legend.length > 0) {
      out.push('Actions are shown with these symbols:');
      for (const a of legend) out.push(`${actionMark(a, p)} ${LEGEND[a]}`);
      out.push('');
    }
    out.push(plan.refresh_only ? 'iact found these differences made outside of iact:' : 'iact will perform the following actions:');
    out.push('');
    for (const change of shown) out.push(...resourceLines(change, plan.environment, plan.refresh_only, p), '');
    for (const change of settings) out.push(...configLines(change, p), '');
  }

  const notices = noticeLines(plan, p);
  if (notices.length > 0) out.push(...notices.flatMap((n) => [n, '']));

  const config = configSummary(plan);
  if (config && !plan.refresh_only) out.push(config);
  const last = summaryLine(plan);
  out.push(p.bold(last));
  return `${out.join('\n')}\n`;
}
