// The pure core of `iact diff`: compare, build the parity table, render. No fs, no git.
import { renderParityMarkdown, renderRevisionMarkdown } from './render-markdown.js';
import { renderParityText, renderRevisionText } from './render-text.js';
import { DIFF_PART_SEPARATOR } from './split.js';
import type { DiffReport } from './types.js';

export { compareRevisions } from './revisions.js';
export { buildParity, sandboxRoles } from './parity.js';
export { resolveSet, secretsOf } from './values.js';
export { renderParityMarkdown, renderRevisionMarkdown } from './render-markdown.js';
export { renderParityText, renderRevisionText } from './render-text.js';
export { DIFF_PART_SEPARATOR } from './split.js';
export { GITHUB_COMMENT_LIMIT } from '../render/comments.js';
export * from './types.js';

export type DiffFormat = 'text' | 'json' | 'markdown';

/** Stable JSON: keys in construction order, two-space indent, one trailing newline. */
export function renderDiffJson(report: DiffReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function renderDiffMarkdown(report: DiffReport, opts: { maxChars?: number } = {}): string[] {
  return report.kind === 'revisions' ? renderRevisionMarkdown(report, opts) : renderParityMarkdown(report, opts);
}

export function renderDiff(report: DiffReport, format: DiffFormat, opts: { color: boolean; maxChars?: number }): string {
  switch (format) {
    case 'json':
      return renderDiffJson(report);
    case 'markdown':
      return renderDiffMarkdown(report, opts).join(DIFF_PART_SEPARATOR);
    case 'text':
      return report.kind === 'revisions' ? renderRevisionText(report, opts) : renderParityText(report, opts);
  }
}

export function hasDifferences(report: DiffReport): boolean {
  return report.summary.has_differences;
}
