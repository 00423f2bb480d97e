// Markdown plan for pull-request comments: summary first, a loud warning when data goes, a table,
// the full text plan in <details>; split into several comments under GitHub's size limit. Pure.
import type { Plan, ResourceChange } from '../plan/types.js';
import { configChanges, configSummary, guardNote, impactNote, isShown, plural, reasonsOf, summaryLine } from './common.js';
import { splitComment, type Block } from './comments.js';
import { renderPlanText } from './text.js';

const MAX_LISTED = 10;

export interface MarkdownOptions {
  maxChars?: number;
}

function escapeCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/\r?\n/g, '<br>');
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function names(changes: ResourceChange[]): string {
  const shown = changes.slice(0, MAX_LISTED).map((c) => code(c.address));
  const more = changes.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function destructive(plan: Plan): { deleted: ResourceChange[]; lossy: ResourceChange[]; guarded: ResourceChange[] } {
  const acting = plan.changes.filter((c) => c.action !== 'no-op');
  return {
    deleted: acting.filter((c) => c.action === 'delete'),
    lossy: acting.filter((c) => c.impact === 'data-loss'),
    guarded: acting.filter((c) => c.requiresAllowDestroy),
  };
}

function summaryBlock(plans: Plan[]): Block {
  const line = (plan: Plan) => {
    const config = plan.refresh_only ? '' : configSummary(plan);
    return `**iact plan · ${plan.environment}${plan.refresh_only ? ' (refresh-only)' : ''}:** ${summaryLine(plan)}${config ? ` ${config}` : ''}`;
  };
  if (plans.length === 1) return { kind: 'text', text: line(plans[0]!) };
  return { kind: 'text', text: plans.map((p) => `- ${line(p)}`).join('\n') };
}

function cautionBlock(plans: Plan[]): Block | undefined {
  const items: string[] = [];
  let deletes = 0;
  let losses = 0;
  for (const plan of plans) {
    if (plan.refresh_only) continue;
    const { deleted, lossy, guarded } = destructive(plan);
    deletes += deleted.length;
    losses += lossy.length;
    const what: string[] = [];
    if (deleted.length > 0) what.push(`deletes ${names(deleted)}`);
    if (lossy.length > 0) what.push(`loses data in ${names(lossy)}`);
    if (guarded.length > 0) what.push(`needs \`--allow-destroy\` for ${names(guarded)}`);
    if (what.length > 0) items.push(`> - ${code(plan.environment)}: ${what.join('; ')}`);
  }
  if (items.length === 0) return undefined;
  const head: string[] = [];
  if (deletes > 0) head.push(`deletes ${plural(deletes, 'sandbox', 'sandboxes')}`);
  if (losses > 0) head.push(`loses data in ${plural(losses, 'sandbox', 'sandboxes')}`);
  return { kind: 'text', text: ['> [!CAUTION]', `> :warning: **This plan ${head.join(' and ')}.**`, ...items].join('\n') };
}

function noticeBlock(plans: Plan[]): Block | undefined {
  const items: string[] = [];
  for (const plan of plans) {
    for (const n of plan.notices) {
      const words = [sentence(`${n.severity}: ${n.summary}`), n.detail ? sentence(n.detail) : '', n.fix ? sentence(`Fix: ${n.fix}`) : ''];
      items.push(`> - ${code(plan.environment)}: ${words.filter(Boolean).join(' ').replace(/\n/g, ' ')}`);
    }
  }
  if (items.length === 0) return undefined;
  return {
    kind: 'text',
    text: ['> [!WARNING]', '> **Part of the machine could not be observed; the plan covers everything else.**', ...items].join('\n'),
  };
}

const TABLE_HEAD = '| Address | Action | Impact | Reasons |\n| --- | --- | --- | --- |';

function tableRows(plan: Plan): string[] {
  const rows = plan.changes.filter(isShown).map((c) => {
    const note = impactNote(c, plan.environment);
    const impact = c.impact === 'data-loss' ? `**${escapeCell(note)}**` : escapeCell(note || c.impact);
    const reasons = reasonsOf(c);
    if (c.requiresAllowDestroy) reasons.push(`${guardNote(plan.environment)}: needs --allow-destroy`);
    return `| ${code(c.address)} | ${c.action} | ${impact} | ${escapeCell(reasons.join('\n'))} |`;
  });
  for (const c of configChanges(plan)) {
    rows.push(
      `| ${code(c.path)} | ${c.action} | none | connection settings ${c.action === 'create' ? 'created' : c.action === 'delete' ? 'removed' : 'changed'} |`,
    );
  }
  return rows;
}

/** Terraform's text with each line's marker moved to column 0 so GitHub's diff highlighting colours it. */
export function diffFriendly(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const m = /^( +)([-+~>])( .*)?$/.exec(line);
      if (!m) return line;
      const mark = m[2] === '~' ? '!' : m[2]!;
      return `${mark}${m[1]}${m[3] ?? ''}`;
    })
    .join('\n');
}

function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

function environmentBlocks(plan: Plan, several: boolean): Block[] {
  const rows = tableRows(plan);
  if (rows.length === 0) return [];
  const blocks: Block[] = [];
  if (several) blocks.push({ kind: 'text', text: `### ${plan.environment}` });
  blocks.push({ kind: 'lines', open: TABLE_HEAD, reopen: TABLE_HEAD, close: '', lines: rows });
  const text = diffFriendly(renderPlanText(plan, { color: false })).replace(/\n$/, '');
  const fence = fenceFor(text);
  const title = `Full plan for ${escapeCell(plan.environment)}`;
  blocks.push({
    kind: 'lines',
    open: `<details><summary>${title}</summary>\n\n${fence}diff`,
    reopen: `<details><summary>${title} (continued)</summary>\n\n${fence}diff`,
    close: `${fence}\n\n</details>`,
    lines: text.split('\n'),
    breakAtBlank: true, // resources are separated by blank lines: split between them
  });
  return blocks;
}

/** One or more comment bodies, each shorter than opts.maxChars (default 65,000). */
export function renderPlanMarkdown(plans: Plan[], opts: MarkdownOptions = {}): string[] {
  const label = plans.map((p) => p.environment).join(', ');
  const blocks: Block[] = [summaryBlock(plans)];
  const caution = cautionBlock(plans);
  if (caution) blocks.push(caution);
  const notices = noticeBlock(plans);
  if (notices) blocks.push(notices);
  for (const plan of plans) blocks.push(...environmentBlocks(plan, plans.length > 1));
  return splitComment(blocks, {
    maxChars: opts.maxChars,
    title: `iact plan · ${label}`,
    footer: 'iact plan',
    marker: `iact-plan: ${label}`,
  });
}
