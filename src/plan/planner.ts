// The planner: a pure function of (desired, observed) -> plan. No fs, no processes.
import { createPatch } from 'diff';
import { connectionVariables, renderEnvFile } from '../config/render.js';
import { canonicalJson, observableSpec, sensitiveSettingKeys, specHash } from '../drivers/spec.js';
import type { ObservedSpec, SandboxStatus } from '../drivers/types.js';
import { envFileHash, fingerprintSecret, isSensitiveKey, MASKED, MASKED_CHANGED } from '../secrets/index.js';
import { PORT_CHOSEN_AT_APPLY, type ResolvedEnvironment, type SandboxSpec } from '../model/types.js';
import { generatesPassword } from '../manifest/kept.js';
import { sha256 } from '../util/hash.js';
import { serviceEntry } from '../catalog/index.js';
import { driftSentence, hasDrift } from './drift.js';
import { effectFor, effectOf, orderSteps, restartStep, worstImpact, type FieldEffect } from './impact.js';
import {
  KNOWN_AFTER_APPLY,
  PLAN_FORMAT_VERSION,
  type Action,
  type ConfigChange,
  type Drift,
  type DriverStep,
  type Step,
  type DisplayValue,
  type FieldChange,
  type Impact,
  type Plan,
  type PlanInputs,
  type PlanNotice,
  type PlanSummary,
  type ResourceChange,
} from './types.js';

export interface PlanOptions {
  targets: string[];
  refreshOnly: boolean;
  /** Take a backup before data-loss actions (apply's --no-backup turns it off). */
  backup: boolean;
}

export interface PlanInput {
  desired: ResolvedEnvironment;
  /** What the drivers reported for this environment, all drivers together. */
  observed: SandboxStatus[];
  /** Problems met while observing (an unavailable driver); carried into the plan. */
  notices: PlanNotice[];
  /** The rendered connection-settings file: its path relative to the root and what is on disk now. */
  envFile: { path: string; current: string | null };
  options: PlanOptions;
  /** Drivers that could not be observed: their sandboxes are left out of the plan, not created. */
  unobservedDrivers?: string[];
  /** Sandboxes a previous apply left in place: one missing now was deleted behind iact's back. */
  lastApplied?: string[];
  /** prepareDesired(desired), when it was worked out earlier (while the drivers' scans ran). */
  prepared?: PreparedDesired;
}

/** The half of a plan that depends on the manifest alone. */
export interface PreparedDesired {
  /** Per sandbox: its compared fields, their masked display, and its settings that hold secrets. */
  sandboxes: Map<string, DesiredSandbox>;
  /** Hash of the manifest's text (the variables are fingerprinted apart), so "file changed" means the file. */
  manifestHash: string;
}

/** Fields compared between the manifest and sandbox.json, in display order. */
const COMPARED_FIELDS = [
  'service',
  'driver',
  'version',
  'image',
  'port',
  'database',
  'user',
  'password',
  'auth',
  'admin',
  'memory',
  'tls',
  'extensions',
  'init',
  'depends_on',
  'protect',
  // service: tunnel (docs/tunnels.md); any change restarts the ssh process.
  'ssh.host',
  'ssh.port',
  'ssh.user',
  'ssh.identityFile',
  'ssh.knownHosts',
  'remote.host',
  'remote.port',
  'checks',
  // driver: docker (docs/remote-engines.md): another engine is a replace.
  'engine.host',
  'engine.context',
  'engine.tls',
  'engine.publish',
  'engine.address',
] as const;

type Comparable = Record<string, DisplayValue | undefined>;

interface DesiredSandbox {
  after: Comparable;
  display: Record<string, DisplayValue>;
  /** Fields (`user`, `settings.<key>`) the manifest fills from a sensitive variable. */
  secretFields: ReadonlySet<string>;
  /** Setting keys filled from a sensitive variable: sandbox.json keeps their hashes. */
  secretSettings: ReadonlySet<string>;
}

const NO_SECRET_FIELDS: ReadonlySet<string> = new Set();

/**
 * A field whose values are never shown, before or after: the password, fields filled from a
 * sensitive variable, and settings named like a secret (masterauth, requirepass); sandbox.json keeps
 * the old value in plain text, so both sides are masked here, at the source of every rendering.
 */
function isSecretField(field: string, secretFields: ReadonlySet<string>): boolean {
  if (field === 'password' || secretFields.has(field)) return true;
  return field.startsWith('settings.') && isSensitiveKey(field.slice('settings.'.length));
}

/** The display form of a spec: what a reviewer may see (password as its salted hash, masked later). */
function comparable(spec: Omit<ObservedSpec, 'spec_hash'> | ObservedSpec): Comparable {
  const out: Comparable = {
    service: spec.service,
    driver: spec.driver,
    version: spec.version,
    image: spec.image,
    port: spec.port,
    database: spec.database,
    user: spec.user,
    password: spec.password_hash,
    auth: spec.auth === false ? false : undefined,
    admin: spec.admin ? true : undefined,
    memory: spec.memory,
    extensions: spec.extensions && spec.extensions.length > 0 ? [...spec.extensions] : undefined,
    init: spec.init && spec.init.length > 0 ? [...spec.init] : undefined,
    tls: spec.tls ? true : undefined,
    depends_on: spec.depends_on && spec.depends_on.length > 0 ? [...spec.depends_on] : undefined,
    protect: spec.protect ? true : undefined,
    'ssh.host': spec.ssh?.host,
    'ssh.port': spec.ssh?.port,
    'ssh.user': spec.ssh?.user,
    'ssh.identityFile': spec.ssh?.identityFile,
    'ssh.knownHosts': spec.ssh?.knownHosts,
    'remote.host': spec.remote?.host,
    'remote.port': spec.remote?.port,
    checks: spec.checks,
    'engine.host': spec.engine?.host,
    'engine.context': spec.engine?.context,
    'engine.tls': spec.engine?.tls ? [spec.engine.tls.ca, spec.engine.tls.cert, spec.engine.tls.key] : undefined,
    'engine.publish': spec.engine?.publish,
    'engine.address': spec.engine?.address,
  };
  for (const [key, value] of Object.entries(spec.settings ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    out[`settings.${key}`] = value;
  }
  return out;
}

/** Masked display object for before/after (secrets never shown, not even hashed). */
function display(values: Comparable, secretFields: ReadonlySet<string>): Record<string, DisplayValue> {
  const out: Record<string, DisplayValue> = {};
  let settings: Record<string, DisplayValue> | undefined;
  for (const key in values) {
    const value = values[key];
    if (value === undefined) continue;
    const shown = isSecretField(key, secretFields) ? MASKED : value;
    if (key.startsWith('settings.')) (settings ??= {})[key.slice('settings.'.length)] = shown;
    else out[key] = shown;
  }
  if (settings) out.settings = settings;
  return out;
}

/** A field change and the effect that decided its impact (the steps come from it). */
type Effected = FieldChange & { effect: FieldEffect };

function fieldChanges(
  before: Comparable,
  after: Comparable,
  service: string,
  driver: string,
  secretFields: ReadonlySet<string>,
): Effected[] {
  const changes: Effected[] = [];
  const compare = (field: string) => {
    const b = before[field];
    const a = after[field];
    if (b === a || canonicalJson(b ?? null) === canonicalJson(a ?? null)) return;
    const effect = effectOf(field, service, driver);
    const sensitive = isSecretField(field, secretFields);
    changes.push({
      field,
      before: sensitive ? (b === undefined ? undefined : MASKED) : b,
      after: sensitive ? (a === undefined ? undefined : b === undefined ? MASKED : MASKED_CHANGED) : a,
      sensitive,
      impact: effect.impact,
      metadataOnly: effect.kind === 'metadata',
      effect,
    });
  };
  // Display order: the declared fields, then settings.* by name (comparable() sorts each side's).
  COMPARED_FIELDS.forEach(compare);
  const settings = new Set<string>();
  for (const key in before) if (key.startsWith('settings.')) settings.add(key);
  for (const key in after) if (key.startsWith('settings.')) settings.add(key);
  [...settings].sort((a, b) => a.localeCompare(b)).forEach(compare);
  return changes;
}

function describeField(change: FieldChange): string {
  if (change.metadataOnly) return `${change.field} changed (metadata only, no service change)`;
  if (change.sensitive) return `${change.field} changed (sensitive)`;
  // What the restart (docker: recreate) of a tls change does (docs/operators.md "TLS sandboxes").
  if (change.field === 'tls') {
    return change.after === true
      ? 'tls turned on: the certificates are made (once, a CA of its own), then the server restarts serving TLS only'
      : 'tls turned off: the server restarts accepting plaintext (the certificates stay)';
  }
  return `${change.field} changed`;
}

/** Targets plus everything they depend on, transitively (as Terraform's -target). */
function expandTargets(targets: string[], sandboxes: Record<string, SandboxSpec>): Set<string> | null {
  if (targets.length === 0) return null;
  const selected = new Set<string>();
  const visit = (name: string) => {
    if (selected.has(name)) return;
    selected.add(name);
    for (const dep of sandboxes[name]?.depends_on ?? []) visit(dep);
  };
  targets.forEach(visit);
  return selected;
}

/** A model built in code has no text: its interpolated content stands in (secrets as salted hashes). */
function modelHash(desired: ResolvedEnvironment): string {
  const secrets = new Set(desired.secretValues);
  const scrub = (value: string): string => (secrets.has(value) ? fingerprintSecret(value, desired.fingerprintKey) : value);
  const manifest = {
    environment: desired.environment,
    sandboxes: desired.sandboxes,
    connections: desired.connections,
    features: desired.features,
  };
  return sha256(canonicalJson(manifest, scrub));
}

/**
 * Pure, and free of the machine's state, so `iact plan` works it out while the status scans run:
 * about half of planning a thousand sandboxes.
 */
export function prepareDesired(desired: ResolvedEnvironment): PreparedDesired {
  const sandboxes: PreparedDesired['sandboxes'] = new Map();
  const sensitivePaths = new Set(desired.sensitivePaths);
  for (const [name, spec] of Object.entries(desired.sandboxes)) {
    const secretSettings = sensitiveSettingKeys(desired, name);
    const after = comparable(observableSpec(desired.environment, spec, secretSettings));
    // Chosen at apply (docs/data.md "Minimal manifests"): a free port, a generated password.
    if (spec.port === PORT_CHOSEN_AT_APPLY) after.port = KNOWN_AFTER_APPLY;
    if (after.password === undefined && generatesPassword(spec)) after.password = KNOWN_AFTER_APPLY;
    const fromSecrets = Object.keys(after).filter((field) => field !== 'password' && sensitivePaths.has(`sandboxes.${name}.${field}`));
    const secretFields = fromSecrets.length > 0 ? new Set(fromSecrets) : NO_SECRET_FIELDS;
    sandboxes.set(name, { after, display: display(after, secretFields), secretFields, secretSettings });
  }
  return { sandboxes, manifestHash: desired.sourceHash ?? modelHash(desired) };
}

function planSandbox(
  spec: SandboxSpec,
  desired: DesiredSandbox,
  status: SandboxStatus | undefined,
  options: PlanOptions,
  isProduction: boolean,
  appliedBefore: boolean,
): ResourceChange {
  const { after } = desired;
  const base = {
    address: `sandbox.${spec.name}`,
    name: spec.name,
    driver: spec.driver,
    service: spec.service,
    after: desired.display,
    depends_on: [...spec.depends_on],
    requiresAllowDestroy: false,
    backup: false,
  };

  const driftReasons = (drift: Drift[]): string[] => drift.map((d) => `${driftSentence(d)} (drift)`);
  if (!status) {
    const drift: Drift[] = appliedBefore ? [{ kind: 'directory-missing' }] : [];
    const reasons = appliedBefore ? driftReasons(drift) : ['not on the machine'];
    // from: is read by create only (docs/data.md "Branches"): the plan says so where it acts.
    if (spec.from) reasons.push(`starts as a copy of ${spec.from.includes('@') ? 'snapshot ' : ''}${spec.from}`);
    return { ...base, action: 'create', impact: 'none', reasons, steps: ['create'], before: null, fields: [], drift };
  }
  if (!status.spec && status.driver !== spec.driver) {
    // Another driver's create cannot repair it (the name is taken there): that driver deletes it first.
    const drift: Drift[] = [{ kind: 'other-driver', detail: status.driver }];
    return {
      ...base,
      action: 'replace',
      impact: 'data-loss',
      reasons: [`${driftSentence(drift[0]!)}; replace deletes it there and creates it with ${spec.driver} (drift)`],
      steps: ['preflight', 'delete', 'create'],
      // What the executor deletes, and with which driver.
      before: { driver: status.driver, service: status.service, port: status.port },
      fields: [],
      drift,
      requiresAllowDestroy: spec.protect || isProduction,
    };
  }
  if (!status.spec) {
    const drift: Drift[] = [{ kind: 'half-made' }];
    return {
      ...base,
      action: 'create',
      impact: 'restart',
      reasons: [`${driftSentence(drift[0]!)}; create repairs it (drift)`],
      steps: ['create'],
      before: null,
      fields: [],
      drift,
    };
  }

  if (status.data_missing && spec.driver === status.driver) {
    // Nothing is left to back up, and neither start nor update can bring data back: a new sandbox.
    const drift: Drift[] = [{ kind: 'data-missing' }];
    return {
      ...base,
      action: 'replace',
      impact: 'data-loss',
      reasons: [`${driftSentence(drift[0]!)}; replace makes a new, empty one (drift)`],
      steps: ['preflight', 'delete', 'create'],
      before: display(comparable(status.spec), desired.secretFields),
      fields: [],
      drift,
      requiresAllowDestroy: spec.protect || Boolean(status.spec.protect) || isProduction,
    };
  }
  const before = comparable(status.spec);
  let compared = after;
  // A generated password not read back (a model built in code): the driver keeps the one it has.
  if (after.password === KNOWN_AFTER_APPLY) compared = { ...after, password: before.password };
  if (status.version !== undefined) {
    // No pin means "the version that made the data": pinning that one, or dropping the pin, changes nothing.
    before.version ??= status.version;
    if (after.version === undefined) compared = { ...compared, version: status.version };
  }
  let effected = fieldChanges(before, compared, spec.service, spec.driver, desired.secretFields);
  const drift: Drift[] = [];
  if (specHash(status.spec) !== status.spec_hash) {
    drift.push({ kind: 'spec-edited' });
    // The manifest is still what was last applied: every difference is the hand edit, and rewriting
    // sandbox.json from the manifest repairs it; the data was never touched, so nothing forces a replace.
    if (effected.length > 0 && status.spec_hash === specHash(observableSpec(status.environment, spec, desired.secretSettings))) {
      effected = effected.map((f) =>
        f.effect.kind === 'replace' ? { ...f, impact: 'restart', effect: effectFor('restart', spec.driver) } : f,
      );
    }
  }
  const hasProcess = serviceEntry(spec.service)?.process ?? true;
  const stopped = hasProcess && !status.running;
  const unhealthy = hasProcess && status.running && !status.healthy;
  if (stopped) drift.push({ kind: 'stopped' });
  if (unhealthy) drift.push({ kind: 'unhealthy', detail: String(status.port) });
  // The status logged in with the recorded password, whose hash equals the manifest's when no field
  // changed: "in sync" must mean the manifest's password works (docs/plan-json.md "Drift kinds").
  const loginFailed = hasProcess && status.running && status.healthy && status.login === false;
  if (loginFailed) drift.push({ kind: 'login-failed' });

  const fields: FieldChange[] = effected.map(({ effect: _effect, ...field }) => field);
  const reasons = fields.map(describeField);
  let action: Action;
  let impact: Impact = worstImpact(fields.map((f) => f.impact));
  let steps: Step[] = [];
  const driverSteps: DriverStep[] = effected.flatMap((f) => f.effect.steps);
  if (effected.some((f) => f.effect.kind === 'replace')) {
    action = 'replace';
  } else if (fields.length > 0) {
    action = 'update';
  } else if (hasDrift(drift, 'spec-edited')) {
    // The machine may run with settings nobody recorded: re-apply the manifest's.
    action = 'update';
    impact = hasProcess ? 'restart' : 'none';
    if (hasProcess) driverSteps.push(restartStep(spec.driver));
  } else if (loginFailed) {
    action = 'update';
    impact = serviceEntry(spec.service)?.passwordInConfig ? 'restart' : 'none';
  } else if (stopped) {
    action = 'start';
    steps = ['start'];
  } else if (unhealthy) {
    action = 'start';
    impact = 'restart';
    steps = ['stop', 'start'];
  } else {
    action = 'no-op';
  }
  if (action === 'update') {
    // A process that does not answer is restarted; a stopped one is started once its files are rewritten.
    if (unhealthy) driverSteps.push(restartStep(spec.driver));
    // The server gets the recorded password again: set-password, or a restart where it reads it from its config.
    if (loginFailed) driverSteps.push(serviceEntry(spec.service)?.passwordInConfig ? restartStep(spec.driver) : 'set-password');
    steps = [...orderSteps(driverSteps), ...(stopped ? (['start'] as const) : [])];
    if (stopped || unhealthy) impact = worstImpact([impact, 'restart']);
  }
  reasons.push(...driftReasons(drift));

  const destructive = action === 'replace';
  const backup = destructive && options.backup && spec.service !== 'none';
  if (destructive) steps = ['preflight', ...(backup ? (['backup'] as const) : []), 'delete', 'create'];
  // One literal in base's key order (a spread per sandbox showed in profiles of 1000).
  return {
    address: base.address,
    name: base.name,
    driver: base.driver,
    service: base.service,
    after: base.after,
    depends_on: base.depends_on,
    requiresAllowDestroy: destructive && (spec.protect || Boolean(status.spec.protect) || isProduction),
    backup,
    action,
    impact,
    reasons,
    steps,
    // Every compared field equal: the display of before is the display of after.
    before: fields.length === 0 ? desired.display : display(before, desired.secretFields),
    fields,
    drift,
  };
}

function planDelete(status: SandboxStatus, options: PlanOptions, isProduction: boolean): ResourceChange {
  const before = status.spec ? comparable(status.spec) : null;
  const protect = Boolean(status.spec?.protect);
  const backup = options.backup && status.service !== 'none';
  return {
    address: `sandbox.${status.name}`,
    name: status.name,
    driver: status.driver,
    service: status.service,
    action: 'delete',
    impact: 'data-loss',
    reasons: ['not in the manifest any more'],
    steps: backup ? ['backup', 'delete'] : ['delete'],
    before: before ? display(before, NO_SECRET_FIELDS) : null,
    after: null,
    fields: [],
    drift: [],
    backup,
    requiresAllowDestroy: protect || isProduction,
    depends_on: status.spec?.depends_on ?? [],
  };
}

/** Two sandboxes trading ports: each waits for the other's port, so apply cannot do it in one go. */
function portSwapNotices(changes: ResourceChange[]): PlanNotice[] {
  const moving = changes.filter((c) => c.before && c.after && c.before.port !== c.after.port);
  const notices: PlanNotice[] = [];
  for (const [i, a] of moving.entries()) {
    for (const b of moving.slice(i + 1)) {
      if (a.after!.port !== b.before!.port || b.after!.port !== a.before!.port) continue;
      notices.push({
        severity: 'warning',
        summary: `${a.address} and ${b.address} swap ports (${String(a.before!.port)} and ${String(b.before!.port)}): apply cannot hand each port to the other at once`,
        fix: `move one of them to a free port first and apply, then set the port you want and apply again`,
      });
    }
  }
  return notices;
}

/** Mask the values of sensitive keys in a dotenv text; a changed secret says so. */
function maskEnvText(text: string, sensitiveKeys: Set<string>, changedKeys: Set<string>): string {
  return text
    .split('\n')
    .map((line) => {
      const m = /^(export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/.exec(line);
      if (!m?.[2] || !(sensitiveKeys.has(m[2]) || isSensitiveKey(m[2]))) return line;
      return `${m[0]}${changedKeys.has(m[2]) ? MASKED_CHANGED : MASKED}`;
    })
    .join('\n');
}

function envValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) values.set(m[1], m[2] ?? '');
  }
  return values;
}

export function planEnvFile(desired: ResolvedEnvironment, envFile: PlanInput['envFile']): ConfigChange {
  const wanted = renderEnvFile(desired, { mask: false });
  const current = envFile.current;
  if (current === wanted) return { path: envFile.path, action: 'no-op', diff: '' };
  const sensitiveKeys = new Set(
    connectionVariables(desired)
      .filter((v) => v.sensitive)
      .map((v) => v.key),
  );
  const before = current === null ? new Map<string, string>() : envValues(current);
  const after = envValues(wanted);
  const changed = new Set([...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)));
  const maskedBefore = current === null ? '' : maskEnvText(current, sensitiveKeys, new Set());
  const maskedAfter = maskEnvText(wanted, sensitiveKeys, changed);
  const patch = createPatch(envFile.path, maskedBefore, maskedAfter, current === null ? '(absent)' : 'on disk', 'manifest', { context: 2 });
  // createPatch's first line is an "Index:" header meant for svn; reviewers know the ---/+++ form.
  const diff = patch
    .split('\n')
    .filter((l, i) => !(i < 2 && (l.startsWith('Index:') || /^=+$/.test(l))))
    .join('\n');
  return { path: envFile.path, action: current === null ? 'create' : 'update', diff };
}

function summarize(changes: ResourceChange[], configChanges: ConfigChange[]): PlanSummary {
  const summary: PlanSummary = { create: 0, update: 0, replace: 0, delete: 0, start: 0, no_op: 0, config: 0 };
  for (const change of changes) {
    if (change.action === 'no-op') summary.no_op += 1;
    else summary[change.action] += 1;
  }
  summary.config = configChanges.filter((c) => c.action !== 'no-op').length;
  return summary;
}

/** Code-point order, as Object.keys(...).sort() gives the manifest's names (and ICU collation costs ~10 ms a thousand). */
const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Hash of what a status reports that matters to a plan (pid and data size move on their own). The
 * spec enters as its hash and recorded hash: planSandbox has hashed it already.
 */
function observedHash(status: SandboxStatus): string {
  const { pid: _pid, data_bytes: _bytes, spec, ...stable } = status;
  return sha256(`${canonicalJson(stable)}\0${spec ? `${specHash(spec)}\0${spec.spec_hash}` : 'null'}`);
}

export function planInputs(input: PlanInput): PlanInputs {
  const { desired } = input;
  const prepared = input.prepared ?? prepareDesired(desired);
  const observed: Record<string, string> = {};
  for (const status of [...input.observed].sort(byName)) observed[status.name] = observedHash(status);
  return {
    manifest: prepared.manifestHash,
    variables: { ...desired.variables },
    observed,
    env_file: envFileHash(input.envFile.current, desired.fingerprintKey),
  };
}

export function fingerprintOf(inputs: PlanInputs, targets: string[], refreshOnly: boolean): string {
  return `sha256:${sha256(canonicalJson({ inputs, targets: [...targets].sort(), refreshOnly }))}`;
}

/**
 * The plan without the changes of `held` sandboxes and of those that depend on them (reconcile's
 * per-sandbox backoff): they wait for a later pass, the rest goes ahead. Summary recounted.
 */
export function withoutHeld(plan: Plan, held: ReadonlySet<string>): Plan {
  if (held.size === 0) return plan;
  const out = new Set(held);
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of plan.changes) {
      if (!out.has(c.name) && c.depends_on.some((d) => out.has(d))) {
        out.add(c.name);
        grew = true;
      }
    }
  }
  const changes = plan.changes.filter((c) => !out.has(c.name));
  return { ...plan, changes, summary: summarize(changes, plan.config_changes) };
}

export function buildPlan(input: PlanInput): Plan {
  const { desired, options } = input;
  const prepared = input.prepared ?? prepareDesired(desired);
  const environment = desired.environment;
  const isProduction = environment === 'production';
  const unobserved = new Set(input.unobservedDrivers ?? []);
  const applied = new Set(input.lastApplied ?? []);
  const observedByName = new Map(input.observed.filter((s) => s.environment === environment).map((s) => [s.name, s]));
  const selected = expandTargets(options.targets, desired.sandboxes);
  const notices = [...input.notices];

  const changes: ResourceChange[] = [];
  const skipped: string[] = [];
  for (const name of Object.keys(desired.sandboxes).sort()) {
    const spec = desired.sandboxes[name]!;
    if (selected && !selected.has(name)) continue;
    const status = observedByName.get(name);
    if (!status && unobserved.has(spec.driver)) {
      skipped.push(name);
      continue;
    }
    changes.push(planSandbox(spec, prepared.sandboxes.get(name)!, status, options, isProduction, applied.has(name)));
  }
  for (const status of [...observedByName.values()].sort(byName)) {
    if (desired.sandboxes[status.name]) continue;
    if (selected && !options.targets.includes(status.name)) continue;
    changes.push(planDelete(status, options, isProduction));
  }
  if (skipped.length > 0) {
    notices.push({
      severity: 'error',
      summary: `not planned: ${skipped.join(', ')} (their driver could not be observed)`,
      fix: 'fix the driver problem above, or run `iact doctor`',
    });
  }

  notices.push(...portSwapNotices(changes));
  let finalChanges = changes;
  const envFileChange = planEnvFile(desired, input.envFile);
  let configChanges = selected ? [] : [envFileChange];
  if (selected && envFileChange.action !== 'no-op' && !options.refreshOnly) {
    // Terraform warns that -target leaves the rest out; here the rest includes the settings applications read.
    notices.push({
      severity: 'warning',
      summary: `${envFileChange.path} is out of date, and a targeted apply leaves it as it is`,
      fix: 'run iact apply without --target to rewrite it',
    });
  }
  if (options.refreshOnly) {
    finalChanges = changes.filter((c) => c.drift.length > 0);
    configChanges = [];
  }

  const inputs = planInputs({ ...input, prepared });
  return {
    format_version: PLAN_FORMAT_VERSION,
    environment,
    fingerprint: fingerprintOf(inputs, options.targets, options.refreshOnly),
    inputs,
    refresh_only: options.refreshOnly,
    targets: [...options.targets].sort(),
    changes: finalChanges,
    config_changes: configChanges,
    notices,
    summary: summarize(finalChanges, configChanges),
  };
}
