// Markdown for pull-request comments and $GITHUB_STEP_SUMMARY: a summary line first, a loud note for
// data loss or risky divergence, a table, the full text in <details>; split under GitHub's limit. Pure.
import type { DiffValue, EnvironmentDiff, ParityReport, ParityRow, RevisionDiff, SandboxDiff } from './types.js';
import { cell, environmentText, paritySummaryLine, revisionSummaryLine, sandboxNote, unsetNote } from './render-text.js';
import { splitComment, type Block } from '../render/comments.js';
import { palette } from '../render/palette.js';
import { MASKED, MASKED_CHANGED } from '../secrets/index.js';

export interface DiffMarkdownOptions {
  maxChars?: number;
}

function escapeCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/\r?\n/g, '<br>');
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

/** A value in a table cell: code, masks and absence as words. */
function mdValue(value: DiffValue | null | undefined): string {
  if (value === undefined || value === null) return '—';
  if (value === MASKED || value === MASKED_CHANGED) return `*${value}*`;
  return escapeCell(code(cell(value)));
}

function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

/** Plan-style markers moved to column 0 so GitHub's diff highlighting colours the lines. */
function diffFriendly(lines: string[]): string[] {
  return lines.map((line) => {
    const m = /^( *)(-\/\+|[-+~!])( .*)?$/.exec(line);
    if (!m) return line;
    const mark = m[2] === '~' || m[2] === '-/+' ? '!' : m[2]!;
    return `${mark}${m[1]}${m[3] ?? ''}`;
  });
}

const ACTION_WORD: Record<SandboxDiff['action'], string> = {
  create: '+ create',
  update: '~ update',
  replace: '-/+ replace',
  delete: '- delete',
};
const CHANGE_WORD = { added: '+ added', removed: '- removed', changed: '~ changed' } as const;
const TABLE_HEAD = '| Change | What | Impact | Details |\n| --- | --- | --- | --- |';

function fieldDetail(s: SandboxDiff): string {
  const shown = s.fields.slice(0, 8).map((f) => {
    if (s.action === 'create') return `${escapeCell(f.field)}: ${mdValue(f.after)}`;
    if (s.action === 'delete') return `${escapeCell(f.field)}: ${mdValue(f.before)}`;
    return `${escapeCell(f.field)}: ${mdValue(f.before)} → ${mdValue(f.after)}`;
  });
  if (s.fields.length > shown.length) shown.push(`and ${s.fields.length - shown.length} more`);
  return shown.join('<br>');
}

function environmentRows(e: EnvironmentDiff): string[] {
  const rows: string[] = [];
  for (const s of e.sandboxes) {
    const impact = sandboxNote(s).replace(/^ \((.*)\)$/, '$1') || 'none';
    rows.push(
      `| ${ACTION_WORD[s.action]} | sandbox ${code(s.name)} (${escapeCell(s.service)}) | ${s.impact === 'data-loss' ? `**${impact}**` : impact} | ${fieldDetail(s)} |`,
    );
  }
  for (const c of e.connections) {
    const detail =
      c.change === 'added' ? mdValue(c.after) : c.change === 'removed' ? mdValue(c.before) : `${mdValue(c.before)} → ${mdValue(c.after)}`;
    rows.push(`| ${CHANGE_WORD[c.change]} | setting ${code(c.key)} | env file | ${detail} |`);
  }
  for (const f of e.features) {
    const detail =
      f.change === 'added' ? mdValue(f.after) : f.change === 'removed' ? mdValue(f.before) : `${mdValue(f.before)} → ${mdValue(f.after)}`;
    rows.push(`| ${CHANGE_WORD[f.change]} | feature ${code(f.name)} | env file | ${detail} |`);
  }
  return rows;
}

function cautionBlock(d: RevisionDiff): Block | undefined {
  const items: string[] = [];
  let lossy = 0;
  for (const e of d.environments) {
    const gone = e.sandboxes.filter((s) => s.impact === 'data-loss');
    lossy += gone.length;
    if (gone.length === 0) continue;
    const what = gone.map(
      (s) =>
        `${s.action === 'delete' ? 'deletes' : 'replaces'} ${code(s.name)}${s.needs_allow_destroy ? ' (needs `--allow-destroy`)' : ''}`,
    );
    items.push(`> - ${code(e.environment)}: ${what.join('; ')}`);
  }
  if (lossy === 0) return undefined;
  return {
    kind: 'text',
    text: [
      '> [!CAUTION]',
      `> :warning: **This change loses data in ${lossy} ${lossy === 1 ? 'sandbox' : 'sandboxes'} when applied.**`,
      ...items,
    ].join('\n'),
  };
}

export function renderRevisionMarkdown(d: RevisionDiff, opts: DiffMarkdownOptions = {}): string[] {
  const title = `iact diff · ${d.from.ref} → ${d.to.ref}`;
  const blocks: Block[] = [
    {
      kind: 'text',
      text: `**iact diff · ${code(d.from.ref)} → ${d.to.commit ? code(d.to.ref) : d.to.ref}:** ${escapeCell(revisionSummaryLine(d))}`,
    },
  ];
  const caution = cautionBlock(d);
  if (caution) blocks.push(caution);
  const errors = d.environments.filter((e) => e.status === 'error');
  if (errors.length > 0) {
    const lines = errors.flatMap((e) => [
      `> - ${code(e.environment)} could not be compared:`,
      ...e.problems.map((p) => `>   ${code(p.split('\n')[0]!)}`),
    ]);
    blocks.push({
      kind: 'text',
      text: ['> [!WARNING]', '> **Some manifests do not resolve; run `iact validate --all`.**', ...lines].join('\n'),
    });
  }
  const p = palette(false);
  for (const e of d.environments) {
    if (e.status === 'unchanged' || e.status === 'error') continue;
    const file = e.after_file ?? e.before_file ?? '';
    const label = e.status === 'added' ? ' (new environment)' : e.status === 'removed' ? ' (environment removed)' : '';
    blocks.push({ kind: 'text', text: `### ${escapeCell(e.environment)}${label}\n\n${code(file)}` });
    const rows = environmentRows(e);
    if (rows.length > 0) blocks.push({ kind: 'lines', open: TABLE_HEAD, reopen: TABLE_HEAD, close: '', lines: rows });
    const text = diffFriendly(environmentText(e, p));
    const fence = fenceFor(text.join('\n'));
    const summary = `Full diff for ${escapeCell(e.environment)}`;
    blocks.push({
      kind: 'lines',
      open: `<details><summary>${summary}</summary>\n\n${fence}diff`,
      reopen: `<details><summary>${summary} (continued)</summary>\n\n${fence}diff`,
      close: `${fence}\n\n</details>`,
      lines: text,
    });
  }
  const unchanged = d.environments.filter((e) => e.status === 'unchanged').map((e) => code(e.environment));
  if (unchanged.length > 0) blocks.push({ kind: 'text', text: `Unchanged: ${unchanged.join(', ')}.` });
  const { added, removed } = d.env_example;
  if (added.length + removed.length > 0) {
    blocks.push({
      kind: 'text',
      text: `\`.env.example\`: ${[...added.map((k) => `added ${code(k)}`), ...removed.map((k) => `removed ${code(k)}`)].join(', ')}.`,
    });
  }
  const unset = unsetNote(d.environments);
  if (unset) blocks.push({ kind: 'text', text: `<sub>${escapeCell(unset)}</sub>` });
  return splitComment(blocks, { maxChars: opts.maxChars, title, marker: 'iact-diff' });
}

const LEGEND = "≠ differs, :warning: risky, — not set there; a sandbox's fields are compared only where it exists.";

function parityCells(r: ParityReport, row: ParityRow): string {
  const mark = row.risky ? ':warning:' : row.differs ? '≠' : '';
  return `| ${mark} | ${code(row.key)} | ${r.environments.map((e) => mdValue(row.values[e])).join(' | ')} |`;
}

export function renderParityMarkdown(r: ParityReport, opts: DiffMarkdownOptions = {}): string[] {
  const envs = r.environments.map(code).join(' ↔ ');
  const title = `iact diff · ${r.environments.join(' ↔ ')}`;
  const blocks: Block[] = [{ kind: 'text', text: `**iact diff · ${envs}:** ${escapeCell(paritySummaryLine(r))}` }];
  const risky = r.rows.filter((row) => row.risky);
  if (risky.length > 0) {
    blocks.push({
      kind: 'text',
      text: [
        '> [!WARNING]',
        `> **${risky.length} risky ${risky.length === 1 ? 'divergence' : 'divergences'}: what passes in one environment may fail in another.**`,
        ...risky.map((row) => `> - ${code(row.key)}: ${escapeCell(row.why ?? '')}`),
      ].join('\n'),
    });
  }
  const head = `|   | Key | ${r.environments.map(escapeCell).join(' | ')} |\n| --- | --- | ${r.environments.map(() => '---').join(' | ')} |`;
  const differing = r.rows.filter((row) => row.differs);
  if (differing.length > 0) {
    blocks.push({ kind: 'text', text: `#### Differs (${differing.length})` });
    blocks.push({ kind: 'lines', open: head, reopen: head, close: '', lines: differing.map((row) => parityCells(r, row)) });
  }
  const same = r.rows.filter((row) => !row.differs);
  if (same.length > 0) {
    const summary = `Same in every environment (${same.length})`;
    blocks.push({
      kind: 'lines',
      open: `<details><summary>${summary}</summary>\n\n${head}`,
      reopen: `<details><summary>${summary}, continued</summary>\n\n${head}`,
      close: '\n</details>',
      lines: same.map((row) => parityCells(r, row)),
    });
  }
  const unset = Object.entries(r.unset_variables)
    .filter(([, names]) => names.length > 0)
    .map(([env, names]) => `${env}: ${names.join(', ')}`);
  if (unset.length > 0)
    blocks.push({ kind: 'text', text: `<sub>Variables not set here, shown as \${NAME}: ${escapeCell(unset.join('; '))}. ${LEGEND}</sub>` });
  else blocks.push({ kind: 'text', text: `<sub>${LEGEND}</sub>` });
  return splitComment(blocks, { maxChars: opts.maxChars, title, marker: 'iact-diff' });
}
