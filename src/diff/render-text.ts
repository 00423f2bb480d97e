// Text rendering of `iact diff`, in the plan's idiom (+ ~ -/+ -, `old -> new`). Pure; colour only when asked.
import type { Impact } from '../plan/types.js';
import { MASKED, MASKED_CHANGED } from '../secrets/index.js';
import { plural, SYMBOLS, VERBS } from '../render/common.js';
import { type Palette, paintMark, palette } from '../render/palette.js';
import type { DiffValue, EnvironmentDiff, FieldDiff, ParityReport, ParityRow, RevisionDiff, SandboxDiff } from './types.js';

/** Strings quoted, masks bare, lists inline. */
export function formatDiffValue(value: DiffValue | undefined | null): string {
  if (value === undefined || value === null) return 'null';
  if (value === MASKED || value === MASKED_CHANGED) return value;
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
  return String(value);
}

const FIELD_NOTE: Record<Impact, string> = { 'data-loss': 'forces replace', restart: 'restart', reload: 'reload', none: 'no restart' };

/** "(data-loss; needs --allow-destroy)" after a sandbox headline. */
export function sandboxNote(s: SandboxDiff): string {
  const parts: string[] = [];
  if (s.impact !== 'none') parts.push(s.impact === 'data-loss' ? 'data-loss' : s.impact);
  else if (s.action === 'update') parts.push('no restart');
  if (s.needs_allow_destroy) parts.push('needs --allow-destroy');
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

function fieldLines(s: SandboxDiff, width: number, p: Palette): string[] {
  return s.fields.map((f: FieldDiff) => {
    const name = f.field.padEnd(width);
    if (s.action === 'create') return `      ${paintMark('+', p)} ${name} = ${formatDiffValue(f.after)}`;
    if (s.action === 'delete') return `      ${paintMark('-', p)} ${name} = ${formatDiffValue(f.before)}`;
    const mark = f.before === undefined ? '+' : f.after === undefined ? '-' : '~';
    const value =
      mark === '+'
        ? formatDiffValue(f.after)
        : mark === '-'
          ? formatDiffValue(f.before)
          : `${formatDiffValue(f.before)} -> ${formatDiffValue(f.after)}`;
    return `      ${paintMark(mark, p)} ${name} = ${value} ${p.dim(`# ${FIELD_NOTE[f.impact]}`)}`;
  });
}

const CHANGE_MARK = { added: '+', removed: '-', changed: '~' } as const;

function settingLine(mark: string, key: string, width: number, before: string, after: string, p: Palette): string {
  const value = mark === '+' ? after : mark === '-' ? before : `${before} -> ${after}`;
  return `      ${paintMark(mark, p)} ${key.padEnd(width)} = ${value}`;
}

/** The lines for one environment (used whole by the text output and inside markdown <details>). */
export function environmentText(e: EnvironmentDiff, p: Palette): string[] {
  const file = e.after_file ?? e.before_file ?? '';
  if (e.status === 'error') {
    return [
      `${paintMark('!', p)} ${p.bold(`environment ${e.environment}`)} could not be compared (${file}):`,
      ...e.problems.flatMap((l) => l.split('\n').map((x) => `    ${x}`)),
    ];
  }
  if (e.status === 'unchanged') return [`  ${p.bold(`environment ${e.environment}`)} (${file}): no changes`];
  const head =
    e.status === 'added'
      ? `${paintMark('+', p)} ${p.bold(`environment ${e.environment}`)} (${file}) added`
      : e.status === 'removed'
        ? `${paintMark('-', p)} ${p.bold(`environment ${e.environment}`)} (${file}) removed`
        : `${paintMark('~', p)} ${p.bold(`environment ${e.environment}`)} (${e.before_file !== e.after_file ? `${e.before_file} -> ${e.after_file}` : file})`;
  const lines = [head];
  for (const s of e.sandboxes) {
    lines.push(`  ${paintMark(SYMBOLS[s.action], p)} sandbox ${p.bold(s.name)} ${VERBS[s.action]}${sandboxNote(s)}`);
    const width = Math.max(0, ...s.fields.map((f) => f.field.length));
    lines.push(...fieldLines(s, width, p));
  }
  if (e.connections.length > 0) {
    lines.push('  connection settings:');
    const width = Math.max(0, ...e.connections.map((c) => c.key.length));
    for (const c of e.connections)
      lines.push(settingLine(CHANGE_MARK[c.change], c.key, width, formatDiffValue(c.before), formatDiffValue(c.after), p));
  }
  if (e.features.length > 0) {
    lines.push('  features:');
    const width = Math.max(0, ...e.features.map((f) => f.name.length));
    for (const f of e.features) lines.push(settingLine(CHANGE_MARK[f.change], f.name, width, String(f.before), String(f.after), p));
  }
  return lines;
}

export function sideLabel(side: { ref: string; commit: string | null }): string {
  return side.commit ? `${side.ref} (${side.commit.slice(0, 7)})` : side.ref;
}

/** The last line: what changed, or that nothing did. */
export function revisionSummaryLine(d: RevisionDiff): string {
  const s = d.summary;
  const failed = s.errors > 0 ? `${plural(s.errors, 'environment', 'environments')} could not be compared. ` : '';
  if (!s.has_differences)
    return `${failed}No differences between ${d.from.ref} and ${d.to.ref === 'working tree' ? 'the working tree' : d.to.ref}.`;
  const changed = d.environments.filter((e) => e.status !== 'unchanged' && e.status !== 'error').map((e) => e.environment);
  const parts = [`${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete`];
  const extra: string[] = [];
  if (s.connections > 0) extra.push(plural(s.connections, 'connection setting', 'connection settings'));
  if (s.features > 0) extra.push(plural(s.features, 'feature', 'features'));
  if (extra.length > 0) parts.push(`${extra.join(' and ')} changed`);
  const envs = changed.length > 0 ? `${plural(changed.length, 'environment', 'environments')} changed (${changed.join(', ')}): ` : '';
  return `${failed}Diff: ${envs}${parts.join('; ')}.`;
}

export function unsetNote(e: EnvironmentDiff[]): string | undefined {
  const all = e.filter((x) => x.unset_variables.length > 0).map((x) => `${x.environment}: ${x.unset_variables.join(', ')}`);
  return all.length > 0 ? `Variables not set here, shown as \${NAME}: ${all.join('; ')}.` : undefined;
}

export function renderRevisionText(d: RevisionDiff, opts: { color: boolean }): string {
  const p = palette(opts.color);
  const out: string[] = [p.bold(`iact diff: ${sideLabel(d.from)} -> ${sideLabel(d.to)}`), ''];
  if (d.environments.length === 0) out.push('  (no manifests in environments/ on either side)', '');
  for (const e of d.environments) out.push(...environmentText(e, p), '');
  const { added, removed } = d.env_example;
  if (added.length + removed.length > 0) {
    out.push(`.env.example: ${[...added.map((k) => `+ ${k}`), ...removed.map((k) => `- ${k}`)].join(', ')}`, '');
  }
  const unset = unsetNote(d.environments);
  if (unset) out.push(p.dim(unset), '');
  out.push(p.bold(revisionSummaryLine(d)));
  return `${out.join('\n')}\n`;
}

/** A table cell: bare text, '—' where the key does not exist, long values cut. */
export function cell(value: DiffValue | null | undefined, max = Infinity): string {
  if (value === null || value === undefined) return '—';
  const text = Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function paritySummaryLine(r: ParityReport): string {
  const s = r.summary;
  if (!s.has_differences) return `No differences: ${r.environments.join(', ')} agree on all ${s.keys} keys.`;
  return `Parity: ${s.differing} of ${s.keys} keys differ, ${plural(s.risky, 'risky divergence', 'risky divergences')}.`;
}

export function rowMark(row: ParityRow): string {
  return row.risky ? '!' : row.differs ? '~' : ' ';
}

export function renderParityText(r: ParityReport, opts: { color: boolean }): string {
  const p = palette(opts.color);
  const max = 34;
  const head = ['KEY', ...r.environments];
  const body = r.rows.map((row) => [row.key, ...r.environments.map((e) => cell(row.values[e], max))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (mark: string, cells: string[]) =>
    `${mark} ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  const out = [p.bold(`iact diff: ${r.environments.join(' vs ')} (${r.source})`), '', p.bold(line(' ', head))];
  r.rows.forEach((row, i) => {
    const text = line(paintMark(rowMark(row), p), body[i]!);
    out.push(row.risky ? text : row.differs ? text : p.dim(text));
  });
  out.push('', p.dim("~ differs   ! risky divergence (why below)   — not set there; a sandbox's fields are compared only where it exists"));
  const risky = r.rows.filter((row) => row.risky);
  if (risky.length > 0) {
    out.push('', p.bold('Risky divergence:'));
    for (const row of risky) out.push(`  ${paintMark('!', p)} ${row.key}: ${row.why}`);
  }
  const unset = Object.entries(r.unset_variables)
    .filter(([, names]) => names.length > 0)
    .map(([env, names]) => `${env}: ${names.join(', ')}`);
  if (unset.length > 0) out.push('', p.dim(`Variables not set here, shown as \${NAME}: ${unset.join('; ')}.`));
  out.push('', p.bold(paritySummaryLine(r)));
  return `${out.join('\n')}\n`;
}
