// JSON plan (schemas/plan.schema.json) as text; the data itself is src/plan/json.ts (a plan file's body too).
import { planToJson } from '../plan/json.js';
import type { Plan } from '../plan/types.js';

export function renderPlanJson(plan: Plan): string {
  return `${JSON.stringify(planToJson(plan), null, 2)}\n`;
}

/** `--all`: always an array, even for one environment, so pipelines need no special case. */
export function renderPlansJson(plans: Plan[]): string {
  return `${JSON.stringify(plans.map(planToJson), null, 2)}\n`;
}
