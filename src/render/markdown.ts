// Markdown plan for pull-request comments: summary first, a loud warning when data goes, a table,
// the full text plan in <details>; split into several comments under GitHub's size limit. Pure.
import type { Plan, ResourceChange } from '../plan/types.js';
import { configChanges, configSummary, guardNote, impactNote, isShown, reasonsOf, summaryLine } from './common.js';
import { renderPlanText } from './text.js';

/** GitHub refuses comments over 65,536 characters; stay clear of it. */
export const DEFAULT_MAX_CHARS = 65_000;
/** Room kept in every part for the "part i of n" lines added once the count is known. */
const PART_RESERVE = 200;
const MAX_LISTED = 10;
/** How many lines back a split may move to land between two resources. */
const BLANK_LOOKBACK = 40;

export interface MarkdownOptions {
  maxChars?: number;
}

/** An atomic paragraph, or lines wrapped in open/close that may be split, reopened in the next part. */
type Segment =
  | { kind: 'text'; text: string }
  | { kind: 'lines'; open: string; reopen: string; close: string; lines: string[] };

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

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function destructive(plan: Plan): { deleted: ResourceChange[]; lossy: ResourceChange[]; guarded: ResourceChange[] } {
  const acting = plan.changes.filter((c) => c.action !== 'no-op');
  return {
    deleted: acting.filter((c) => c.action === 'delete'),
    lossy: acting.filter((c) => c.impact === 'data-loss'),
    guarded: acting.filter((c) => c.requiresAllowDestroy),
  };
}

function summarySegment(plans: Plan[]): Segment {
  const line = (plan: Plan) => {
    const config = plan.refresh_only ? '' : configSummary(plan);
    return `**iact plan · ${plan.environment}${plan.refresh_only ? ' (refresh-only)' : ''}:** ${summaryLine(plan)}${config ? ` ${config}` : ''}`;
  };
  if (plans.length === 1) return { kind: 'text', text: line(plans[0]!) };
  return { kind: 'text', text: plans.map((p) => `- ${line(p)}`).join('\n') };
}

function cautionSegment(plans: Plan[]): Segment | undefined {
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

function noticeSegment(plans: Plan[]): Segment | undefined {
  const items: string[] = [];
  for (const plan of plans) {
    for (const n of plan.notices) {
      const words = [sentence(`${n.severity}: ${n.summary}`), n.detail ? sentence(n.detail) : '', n.fix ? sentence(`Fix: ${n.fix}`) : ''];
      items.push(`> - ${code(plan.environment)}: ${words.filter(Boolean).join(' ').replace(/\n/g, ' ')}`);
    }
  }
  if (items.length === 0) return undefined;
  return { kind: 'text', text: ['> [!WARNING]', '> **Part of the machine could not be observed; the plan covers everything else.**', ...items].join('\n') };
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
    rows.push(`| ${code(c.path)} | ${c.action} | none | connection settings ${c.action === 'create' ? 'created' : c.action === 'delete' ? 'removed' : 'changed'} |`);
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

function environmentSegments(plan: Plan, several: boolean): Segment[] {
  const rows = tableRows(plan);
  if (rows.length === 0) return [];
  const segments: Segment[] = [];
  if (several) segments.push({ kind: 'text', text: `### ${plan.environment}` });
  segments.push({ kind: 'lines', open: TABLE_HEAD, reopen: TABLE_HEAD, close: '', lines: rows });
  const text = diffFriendly(renderPlanText(plan, { color: false })).replace(/\n$/, '');
  const fence = fenceFor(text);
  const title = `Full plan for ${escapeCell(plan.environment)}`;
  segments.push({
    kind: 'lines',
    open: `<details><summary>${title}</summary>\n\n${fence}diff`,
    reopen: `<details><summary>${title} (continued)</summary>\n\n${fence}diff`,
    close: `${fence}\n\n</details>`,
    lines: text.split('\n'),
  });
  return segments;
}

function truncateLine(line: string, room: number): string {
  const marker = ' … (line truncated)';
  return line.length <= room ? line : `${line.slice(0, Math.max(0, room - marker.length))}${marker}`;
}

/** Greedy packing: paragraphs whole, line blocks split between lines and re-wrapped in each part. */
function pack(segments: Segment[], budget: number): string[] {
  const parts: string[] = [];
  let current = '';
  const joined = (text: string) => (current === '' ? text : `${current}\n\n${text}`);
  const flush = () => {
    if (current !== '') parts.push(current);
    current = '';
  };
  for (const seg of segments) {
    if (seg.kind === 'text') {
      if (joined(seg.text).length <= budget) {
        current = joined(seg.text);
        continue;
      }
      flush();
      if (seg.text.length <= budget) {
        current = seg.text;
        continue;
      }
      // A paragraph larger than a whole comment: fall back to splitting it between lines.
      const lines = seg.text.split('\n').map((l) => truncateLine(l, budget));
      for (const l of lines) {
        if (current !== '' && current.length + 1 + l.length > budget) flush();
        current = current === '' ? l : `${current}\n${l}`;
      }
      continue;
    }
    const wrap = (open: string, body: string[]) => [open, ...body, ...(seg.close ? [seg.close] : [])].join('\n');
    let open = seg.open;
    let body: string[] = [];
    let bodyLength = 0;
    const fits = (line: string) =>
      (current === '' ? 0 : current.length + 2) + open.length + bodyLength + 1 + line.length + (seg.close ? seg.close.length + 1 : 0) <= budget;
    for (const raw of seg.lines) {
      let line = raw;
      if (!fits(line)) {
        let carry: string[] = [];
        if (body.length > 0) {
          // Prefer to break at a blank line (between resources) when one is near.
          const blank = body.lastIndexOf('');
          if (blank > 0 && body.length - blank <= BLANK_LOOKBACK) {
            carry = body.slice(blank + 1);
            body = body.slice(0, blank + 1);
          }
          current = joined(wrap(open, body));
          flush();
          open = seg.reopen;
        } else if (current !== '') {
          flush();
        }
        body = carry;
        bodyLength = carry.reduce((n, l) => n + l.length + 1, 0);
        if (!fits(line)) line = truncateLine(line, budget - open.length - seg.close.length - 2);
      }
      body.push(line);
      bodyLength += line.length + 1;
    }
    current = joined(wrap(open, body));
  }
  flush();
  return parts;
}

/** One or more comment bodies, each shorter than opts.maxChars (default 65,000). */
export function renderPlanMarkdown(plans: Plan[], opts: MarkdownOptions = {}): string[] {
  const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
  const label = plans.map((p) => p.environment).join(', ');
  const budget = maxChars - PART_RESERVE - 2 * label.length;
  if (budget < 200) throw new RangeError(`maxChars ${maxChars} is too small to hold a plan comment`);
  const segments: Segment[] = [summarySegment(plans)];
  const caution = cautionSegment(plans);
  if (caution) segments.push(caution);
  const notices = noticeSegment(plans);
  if (notices) segments.push(notices);
  for (const plan of plans) segments.push(...environmentSegments(plan, plans.length > 1));

  const parts = pack(segments, budget);
  if (parts.length === 1) return [`${parts[0]}\n\n<!-- iact-plan: ${label} -->\n`];
  return parts.map((body, i) => {
    const n = `part ${i + 1} of ${parts.length}`;
    const head = i === 0 ? '' : `**iact plan · ${label} (${n}, continued)**\n\n`;
    return `${head}${body}\n\n<sub>iact plan · ${n}</sub>\n<!-- iact-plan: ${label}; ${n} -->\n`;
  });
}
