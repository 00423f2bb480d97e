// The three renderers of a plan, and `--all` (several environments in one output).
import type { Plan } from '../plan/types.js';
import { renderPlanJson, renderPlansJson } from './json.js';
import { renderPlanMarkdown } from './markdown.js';
import { renderPlanText } from './text.js';

export { renderPlanJson, renderPlansJson } from './json.js';
export { planToJson } from '../plan/json.js';
export { renderPlanMarkdown } from './markdown.js';
export { DEFAULT_MAX_CHARS } from './comments.js';
export { renderPlanText } from './text.js';

export type PlanFormat = 'text' | 'json' | 'markdown';

export interface RenderOptions {
  color: boolean;
  /** Markdown: largest comment body. */
  maxChars?: number;
  /** JSON: an array even for one plan (`--all`). */
  array?: boolean;
}

/** Separates markdown comment bodies on stdout; a CI step posts each part as its own comment. */
export const MARKDOWN_PART_SEPARATOR = '\n<!-- iact-plan: next comment -->\n\n';

export function renderPlans(plans: Plan[], format: PlanFormat, opts: RenderOptions): string {
  switch (format) {
    case 'text':
      return plans.map((p) => renderPlanText(p, { color: opts.color })).join('\n');
    case 'json':
      return plans.length === 1 && !opts.array ? renderPlanJson(plans[0]!) : renderPlansJson(plans);
    case 'markdown':
      return renderPlanMarkdown(plans, { maxChars: opts.maxChars }).join(MARKDOWN_PART_SEPARATOR);
  }
}
