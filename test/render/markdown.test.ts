import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/types.js';
import { MARKDOWN_PART_SEPARATOR, renderPlanMarkdown, renderPlanText, renderPlans } from '../../src/render/index.js';
import { diffFriendly } from '../../src/render/markdown.js';
import { SECRETS, emptyPlan, everyActionPlan, hugePlan } from './sample-plans.js';

const FENCE = /^`{3,}/;

/** Lines between a ```diff opening and its closing fence, over every part, in order. */
function fencedLines(parts: string[]): string[] {
  const out: string[] = [];
  for (const part of parts) {
    let inside = false;
    for (const line of part.split('\n')) {
      if (FENCE.test(line)) inside = !inside;
      else if (inside) out.push(line);
    }
  }
  return out;
}

function tableRows(parts: string[]): string[] {
  return parts.flatMap((p) => p.split('\n').filter((l) => l.startsWith('| `')));
}

function checkParts(parts: string[], maxChars: number, plans: Plan[]): void {
  const whole = renderPlanMarkdown(plans, { maxChars: 10_000_000 });
  expect(whole).toHaveLength(1);
  const wholeLines = new Set(whole[0]!.split('\n'));
  parts.forEach((part, i) => {
    expect(part.length, `part ${i + 1}`).toBeLessThan(maxChars);
    const lines = part.split('\n');
    expect(lines.filter((l) => FENCE.test(l)).length % 2, `part ${i + 1}: fences closed`).toBe(0);
    expect(lines.filter((l) => l.startsWith('<details>')).length, `part ${i + 1}: details closed`).toBe(
      lines.filter((l) => l === '</details>').length,
    );
    if (parts.length > 1) expect(part).toContain(`part ${i + 1} of ${parts.length}`);
    // No line was cut: every line is a line of the unsplit rendering, or the parts' own chrome.
    for (const line of lines) {
      if (wholeLines.has(line)) continue;
      expect(line, `part ${i + 1}: a line that the unsplit comment does not have`).toMatch(
        /^(\*\*iact plan · .* \(part \d+ of \d+, continued\)\*\*|<sub>iact plan · part \d+ of \d+<\/sub>|<!-- iact-plan: .*; part \d+ of \d+ -->|<details><summary>Full plan for .* \(continued\)<\/summary>)$/,
      );
    }
  });
  // Nothing lost: the plan text and the table rows come back whole when the parts are joined.
  expect(fencedLines(parts)).toEqual(fencedLines(whole));
  expect(tableRows(parts)).toEqual(tableRows(whole));
}

describe('renderPlanMarkdown', () => {
  const [body] = renderPlanMarkdown([everyActionPlan()]);

  it('starts with the summary line and warns loudly about deletes and data loss', () => {
    const lines = body!.split('\n');
    expect(lines[0]).toBe(
      '**iact plan · development:** Plan: 1 to create, 3 to update, 1 to replace, 1 to delete, 1 to start. Connection settings: .iact/env/development.env will be updated.',
    );
    expect(body).toContain('> [!CAUTION]\n> :warning: **This plan deletes 1 sandbox and loses data in 2 sandboxes.**');
    expect(body).toContain(
      '> - `development`: deletes `sandbox.old-cache`; loses data in `sandbox.legacy-db`, `sandbox.old-cache`; needs `--allow-destroy` for `sandbox.legacy-db`',
    );
    expect(body).toContain('> [!WARNING]');
  });

  it('has no caution when nothing is deleted or lost', () => {
    const gentle = everyActionPlan();
    gentle.changes = gentle.changes.filter((c) => c.impact !== 'data-loss');
    expect(renderPlanMarkdown([gentle])[0]).not.toContain('CAUTION');
    const [quiet] = renderPlanMarkdown([emptyPlan('staging')]);
    expect(quiet!.split('\n')[0]).toBe('**iact plan · staging:** No changes. staging matches its manifest.');
    expect(quiet).not.toContain('<details>');
  });

  it('has a table of changes: address, action, impact, reasons', () => {
    expect(body).toContain('| Address | Action | Impact | Reasons |\n| --- | --- | --- | --- |');
    expect(body).toContain('| `sandbox.cache` | update | restart | port changed<br>settings.maxmemory changed |');
    expect(body).toContain(
      '| `sandbox.old-cache` | delete | **data-loss: backup to .iact/backups/development/ first** | no longer in the manifest |',
    );
    expect(body).toContain('| `sandbox.worker` | start | none | service is not running (drift) |');
    expect(body).toContain('| `.iact/env/development.env` | update | none | connection settings changed |');
    expect(body).not.toContain('sandbox.steady');
  });

  it('escapes table cells', () => {
    const odd = everyActionPlan();
    odd.changes[0]!.reasons = ['a | b <script>'];
    expect(renderPlanMarkdown([odd])[0]).toContain('| a \\| b &lt;script> |');
  });

  it('puts the full text plan, uncoloured, in <details> with a diff fence whose markers GitHub colours', () => {
    expect(body).toContain('<details><summary>Full plan for development</summary>\n\n```diff\n');
    expect(body).toContain('\n```\n\n</details>');
    expect(body).not.toMatch(/\u001b\[/);
    const inside = fencedLines([body!]);
    expect(inside.join('\n')).toBe(diffFriendly(renderPlanText(everyActionPlan(), { color: false })).trimEnd());
    expect(inside).toContain('+   sandbox.app-db {');
    expect(inside).toContain('!       port    = 6380 -> 6381 # restart');
    expect(inside).toContain('-/+ sandbox.legacy-db {');
    expect(inside).toContain('-       DB_PORT=5433');
  });

  it('uses a longer fence when the plan itself contains backticks', () => {
    const ticks = everyActionPlan();
    ticks.changes[0]!.reasons = ['odd ```` value'];
    expect(renderPlanMarkdown([ticks])[0]).toContain('`````diff');
  });

  it('stays one comment when it fits', () => {
    expect(renderPlanMarkdown([everyActionPlan()])).toHaveLength(1);
    expect(body!.length).toBeLessThan(65_000);
  });

  it('splits a plan over the limit into parts that each fit, close what they open and lose nothing', () => {
    const plan = hugePlan(1000);
    const parts = renderPlanMarkdown([plan]);
    expect(parts.length).toBeGreaterThan(2);
    checkParts(parts, 65_000, [plan]);
    expect(parts[0]!.split('\n')[0]).toMatch(/^\*\*iact plan · production:\*\* Plan: 900 to create/);
    expect(parts[0]).toContain('[!CAUTION]');
  });

  it('splits correctly at small limits too', () => {
    const plans = [everyActionPlan(), hugePlan(60, 'staging')];
    for (const maxChars of [1_500, 3_000, 7_777]) {
      const parts = renderPlanMarkdown(plans, { maxChars });
      expect(parts.length).toBeGreaterThan(1);
      checkParts(parts, maxChars, plans);
    }
  });

  it('summarises every environment first with --all', () => {
    const out = renderPlans([everyActionPlan(), emptyPlan('staging')], 'markdown', { color: true });
    const lines = out.split('\n');
    expect(lines[0]).toBe(
      '- **iact plan · development:** Plan: 1 to create, 3 to update, 1 to replace, 1 to delete, 1 to start. Connection settings: .iact/env/development.env will be updated.',
    );
    expect(lines[1]).toBe('- **iact plan · staging:** No changes. staging matches its manifest.');
    expect(out).toContain('### development');
    expect(out).not.toMatch(/\u001b\[/);
    const many = renderPlans([hugePlan(1000)], 'markdown', { color: false });
    expect(many.split(MARKDOWN_PART_SEPARATOR).length).toBe(renderPlanMarkdown([hugePlan(1000)]).length);
  });

  it('never shows a secret', () => {
    const parts = renderPlanMarkdown([everyActionPlan()], { maxChars: 2_000 });
    for (const secret of SECRETS) for (const part of parts) expect(part).not.toContain(secret);
  });
});
