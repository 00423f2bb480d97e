// The one table (docs/plan-json.md, "Steps"): what a field change forces, keyed by (field,
// service, driver), and the steps apply takes for it. Nothing else decides impact or steps.
import { isReloadable } from '../catalog/index.js';
import { DRIVER_STEPS, type DriverStep, type Impact } from './types.js';

export type EffectKind =
  | 'replace' // delete then create; data is lost
  | 'restart' // lightweight/namespace: a new process on the same data; docker: a new container on the same volume
  | 'reload' // the running server picks it up (SIGHUP, SET GLOBAL, CONFIG SET)
  | 'set-password' // in place, no restart (ALTER ROLE / ALTER USER / CONFIG SET requirepass)
  | 'grant' // in place: the user becomes an administrator or stops being one (docs/data.md "Admin")
  | 'extensions' // in place: CREATE EXTENSION for the ones added (docs/data.md "Extensions")
  | 'init' // the init files run again, in order (docs/data.md "Init")
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
  auth: 'set-password',
  admin: 'grant',
  extensions: 'extensions',
  init: 'init',
  depends_on: 'metadata',
  protect: 'metadata',
  // Another engine holds neither the container nor the volume (docs/remote-engines.md).
  'engine.host': 'replace',
  'engine.context': 'replace',
  // The server listens at another address: a new container on the same volume.
  'engine.publish': 'restart',
  // The same engine reached with other files, or clients told another host: the driver rewrites its files.
  'engine.tls': 'metadata',
  'engine.address': 'metadata',
};

const IMPACT: Record<EffectKind, Impact> = {
  replace: 'data-loss',
  restart: 'restart',
  reload: 'reload',
  'set-password': 'none',
  grant: 'none',
  extensions: 'none',
  // Init files are rerunnable by design: running them again is what the change asks for.
  init: 'none',
  metadata: 'none',
};

/** Kinds carried out by the driver step of the same name. */
const SAME_NAMED: ReadonlySet<EffectKind> = new Set(['reload', 'set-password', 'grant', 'extensions', 'init']);

/** How a restart is done: docker replaces the container (same volume), the others restart the process. */
export function restartStep(driver: string): DriverStep {
  return driver === 'docker' ? 'recreate' : 'restart';
}

export function effectFor(kind: EffectKind, driver: string): FieldEffect {
  const steps: DriverStep[] = kind === 'restart' ? [restartStep(driver)] : SAME_NAMED.has(kind) ? [kind as DriverStep] : [];
  return { kind, impact: IMPACT[kind], steps };
}

/** Settings reload when the catalogue lists them as reloadable for the service; any other restarts. */
export function effectOf(field: string, service: string, driver: string): FieldEffect {
  const direct = BY_FIELD[field];
  if (direct) return effectFor(direct, driver);
  if (field.startsWith('settings.'))
    return effectFor(isReloadable(service, field.slice('settings.'.length)) ? 'reload' : 'restart', driver);
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
