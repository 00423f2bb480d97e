// The one table (docs/plan-json.md, "Steps"): what a field change forces, keyed by (field,
// service, driver), and the steps apply takes for it. Nothing else decides impact or steps.
import { isReloadable } from '../catalog/index.js';
import { DRIVER_STEPS, type DriverStep, type Impact } from './types.js';

export type EffectKind =
  | 'replace' // delete then create; data is lost
  | 'restart' // lightweight/namespace: a new process on the same data; docker: a new container on the same volume
  | 'reload' // the running server picks it up (SIGHUP, SET GLOBAL, CONFIG SET)
  | 'set-password' // in place, no restart (ALTER ROLE / ALTER USER / CONFIG SET requirepass)
  | 'metadata'; // no machine change at all

export interface FieldEffect {
  kind: EffectKind;
  impact: Impact;
  /** The driver steps of an update that carry it out (none for replace and metadata). */
  steps: DriverStep[];
}

const BY_FIELD: Readonly<Record<string, EffectKind>> = {
  service: 'replace',
  driver: 'replace',
  version: 'replace',
  image: 'replace',
  database: 'replace',
  user: 'replace',
  port: 'restart',
  memory: 'restart',
  // New certificates and server options: the server starts again with them.
  tls: 'restart',
  password: 'set-password',
  depends_on: 'metadata',
  protect: 'metadata',
};

const IMPACT: Record<EffectKind, Impact> = { replace: 'data-loss', restart: 'restart', reload: 'reload', 'set-password': 'none', metadata: 'none' };

/** How a restart is done: docker replaces the container (same volume), the others restart the process. */
export function restartStep(driver: string): DriverStep {
  return driver === 'docker' ? 'recreate' : 'restart';
}

export function effectFor(kind: EffectKind, driver: string): FieldEffect {
  const steps: DriverStep[] = kind === 'restart' ? [restartStep(driver)] : kind === 'reload' ? ['reload'] : kind === 'set-password' ? ['set-password'] : [];
  return { kind, impact: IMPACT[kind], steps };
}

/** Settings reload when the catalogue lists them as reloadable for the service; any other restarts. */
export function effectOf(field: string, service: string, driver: string): FieldEffect {
  const direct = BY_FIELD[field];
  if (direct) return effectFor(direct, driver);
  if (field.startsWith('settings.')) return effectFor(isReloadable(service, field.slice('settings.'.length)) ? 'reload' : 'restart', driver);
  return effectFor('restart', driver);
}

/** The union of the steps, in the order the driver runs them (docs/driver-protocol.md). */
export function orderSteps(steps: Iterable<DriverStep>): DriverStep[] {
  const wanted = new Set(steps);
  return DRIVER_STEPS.filter((s) => wanted.has(s));
}

const ORDER: Record<Impact, number> = { none: 0, reload: 1, restart: 2, 'data-loss': 3 };

export function worstImpact(impacts: Iterable<Impact>): Impact {
  let worst: Impact = 'none';
  for (const impact of impacts) if (ORDER[impact] > ORDER[worst]) worst = impact;
  return worst;
}
