// What plan, apply, destroy, status and reconcile share: which environments, their resolved
// manifests, and a fresh plan against the machine.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DiagnosticError, diag, formatDiagnostics, hasErrors } from '../diagnostics.js';
import type { DriverContext, DriverWriter, SandboxStatus } from '../drivers/types.js';
import { describeDetected } from '../manifest/detect.js';
import { detectEnvironmentIn } from '../io/detect.js';
import {
  duplicateManifest,
  invalidEnvironmentName,
  listEnvironments,
  loadEnvironment,
  manifestFile,
  projectSalt,
  sandboxRootSetting,
  unknownEnvironment,
} from '../io/load.js';
import { PORT_CHOSEN_AT_APPLY, type DriverName, type ResolvedEnvironment, type SandboxSpec } from '../model/types.js';
import { readApplied } from '../apply/applied.js';
import { beginObservation, type Observation } from '../io/observe.js';
import { missingExtensionNotices } from '../io/extensions.js';
import { redisWithoutTlsNotices } from '../io/redis-tls.js';
import { buildPlan, prepareDesired, type PlanOptions } from '../plan/planner.js';
import type { Plan, PlanNotice } from '../plan/types.js';
import { checkEnvironmentFlags, findProjectRoot, projectPaths, type ProjectPaths } from '../project.js';
import type { CommandIO } from './io.js';

export interface Selected {
  root: string;
  /** Paths of the first environment selected (its sandbox root may come from its .env files). */
  paths: ProjectPaths;
  /** The sandbox root of each environment (IACT_SANDBOX_ROOT from the environment or its .env files). */
  sandboxesFor?: (environment: string) => string;
  environments: string[];
  /** "staging, from ENVIRONMENT in .env" when the environment was detected, for messages. */
  detectedFrom?: string;
}

/** --env / --all / detection, with the unknown-name error that lists the manifests. */
export function selectEnvironments(opts: { dir?: unknown; env?: unknown; all?: unknown }, io: CommandIO): Selected {
  checkEnvironmentFlags(opts);
  const root = findProjectRoot(io.cwd, typeof opts.dir === 'string' ? opts.dir : undefined);
  // The CLI and the driver scripts read IACT_SANDBOX_ROOT from the same places (docs/manifest.md "Files").
  const sandboxesFor = (environment: string) =>
    checkedSandboxes(projectPaths(root, io.env, sandboxRootSetting(root, environment, io.env))).sandboxes;
  if (opts.all) {
    const environments = listEnvironments(root);
    if (environments.length === 0) throw new DiagnosticError(unknownEnvironment(root, 'development'));
    return {
      root,
      paths: checkedSandboxes(projectPaths(root, io.env, sandboxRootSetting(root, environments[0]!, io.env))),
      environments,
      sandboxesFor,
    };
  }
  const flag = typeof opts.env === 'string' ? opts.env : Array.isArray(opts.env) ? (opts.env[0] as string | undefined) : undefined;
  const detected = detectEnvironmentIn(root, { flag, env: io.env });
  // Checked before any path is built from the name: `--env ../etc` must not name a file.
  const problem = invalidEnvironmentName(root, detected.name, detected.source) ?? duplicateManifest(root, detected.name);
  if (problem) throw new DiagnosticError(problem);
  if (!manifestFile(root, detected.name)) throw new DiagnosticError(unknownEnvironment(root, detected.name, detected.source));
  const paths = checkedSandboxes(projectPaths(root, io.env, sandboxRootSetting(root, detected.name, io.env)));
  return { root, paths, environments: [detected.name], detectedFrom: describeDetected(detected), sandboxesFor };
}

/**
 * Config files quote blanks and quotes in paths, but a control character (a line break) would end a
 * line early: such a sandbox root is refused before anything is written (docs/driver-protocol.md "Sandbox directories").
 */
function checkedSandboxes(paths: ProjectPaths): ProjectPaths {
  if (/[\u0000-\u001f\u007f]/.test(paths.sandboxes)) {
    throw new DiagnosticError(
      diag(`the sandbox root ${JSON.stringify(paths.sandboxes)} contains a control character (a line break?)`, {
        code: 'paths.control',
        fix: 'move the project, or set IACT_SANDBOX_ROOT to a path without one',
      }),
    );
  }
  return paths;
}

/** The resolved manifest; errors throw, warnings go to `warn` (stderr) so stdout stays the result. */
export async function loadResolved(
  root: string,
  environment: string,
  env: NodeJS.ProcessEnv,
  warn: (text: string) => void = (t) => void process.stderr.write(t),
): Promise<ResolvedEnvironment> {
  // Plans carry the variables' hashes: keyed by the project's salt, made here on first use.
  const result = await loadEnvironment({ root, environment, env, salt: projectSalt(root) });
  if (hasErrors(result.diagnostics) || !result.resolved) {
    throw new DiagnosticError(result.diagnostics.length > 0 ? result.diagnostics : [diag(`could not load environment ${environment}`)]);
  }
  const warnings = result.diagnostics.filter((d) => d.severity === 'warning');
  if (warnings.length > 0) warn(`${formatDiagnostics(warnings)}\n`);
  return result.resolved;
}

export function driverContext(selected: Selected, environment: string, signal?: AbortSignal): DriverContext {
  return { root: selected.root, sandboxRoot: selected.sandboxesFor?.(environment) ?? selected.paths.sandboxes, environment, signal };
}

export async function lookupDriver(name: DriverName): Promise<DriverWriter> {
  const { getDriver } = await import('../drivers/index.js');
  return getDriver(name);
}

export function envFilePath(paths: ProjectPaths, environment: string): { absolute: string; relative: string } {
  const absolute = path.join(paths.envFiles, `${environment}.env`);
  return { absolute, relative: path.relative(paths.root, absolute) || absolute };
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export interface PreparedPlan {
  resolved: ResolvedEnvironment;
  plan: Plan;
  observation: Observation;
  lastApplied: string[];
  /** Targets this environment does not know (only when unknown targets are tolerated). */
  unknownTargets: string[];
}

/**
 * Load, observe (one status call per driver), plan. tolerateUnknownTargets: a target this
 * environment lacks selects nothing here instead of failing (plan --all: it may be another's).
 */
export async function preparePlan(
  selected: Selected,
  environment: string,
  io: CommandIO,
  options: PlanOptions,
  signal?: AbortSignal,
  tolerateUnknownTargets = false,
): Promise<PreparedPlan> {
  const ctx = driverContext(selected, environment, signal);
  // The drivers' status scans run while the manifest is parsed.
  const observing = beginObservation(ctx, lookupDriver);
  await observing.started;
  const resolved = await loadResolved(selected.root, environment, io.env, io.stderr);
  const unknownTargets = options.targets.filter((t) => !resolved.sandboxes[t]);
  const gathering = Promise.all([
    observing.complete(resolved),
    readIfExists(envFilePath(selected.paths, environment).absolute),
    readApplied(selected.paths.iact, environment),
  ]);
  // The manifest's half of the plan, worked out while the status scans run.
  const prepared = prepareDesired(resolved);
  const [observation, current, lastApplied] = await gathering;
  const known = new Set([...Object.keys(resolved.sandboxes), ...observation.observed.map((s) => s.name)]);
  const missing = unknownTargets.filter((t) => !known.has(t));
  if (missing.length > 0 && !tolerateUnknownTargets) {
    throw new DiagnosticError(
      missing.map((t) =>
        diag(`--target ${t}: no sandbox of that name in ${environment}`, {
          fix: `use one of: ${[...known].sort().join(', ') || '(none)'}`,
        }),
      ),
    );
  }
  const plan = buildPlan({
    desired: resolved,
    observed: observation.observed,
    notices: [
      ...observation.notices,
      ...(await portsTakenNotices(resolved, observation.observed)),
      ...(await missingExtensionNotices(resolved)),
      ...(await redisWithoutTlsNotices(resolved, io.env)),
    ],
    unobservedDrivers: observation.unobservedDrivers,
    envFile: { path: envFilePath(selected.paths, environment).relative, current },
    options,
    lastApplied,
    prepared,
  });
  return { resolved, plan, observation, lastApplied, unknownTargets: missing };
}

/**
 * Ports the plan would claim (a new sandbox, a port change) that something already listens on:
 * apply would fail there, so the plan says it first. Ports held by this environment's own sandboxes
 * are not probed (a rename or a move hands them over during apply).
 */
async function portsTakenNotices(resolved: ResolvedEnvironment, observed: readonly SandboxStatus[]): Promise<PlanNotice[]> {
  const held = new Set(observed.filter((s) => s.environment === resolved.environment).map((s) => s.port));
  const current = new Map(observed.map((s) => [s.name, s.port]));
  const claims = Object.values(resolved.sandboxes).filter(
    (sb) => sb.service !== 'none' && sb.port !== PORT_CHOSEN_AT_APPLY && current.get(sb.name) !== sb.port && !held.has(sb.port),
  );
  if (claims.length === 0) return [];
  const { portInUse } = await import('../io/port.js');
  const taken = await Promise.all(claims.map(async (sb) => ((await portInUse(sb.port)) ? sb : undefined)));
  return taken
    .filter((sb): sb is SandboxSpec => sb !== undefined)
    .map((sb) => ({
      severity: 'warning' as const,
      summary: `port ${sb.port} of sandbox.${sb.name} is already in use on 127.0.0.1: apply will fail for it`,
      fix: `stop what listens on 127.0.0.1:${sb.port}, or give ${sb.name} another port`,
    }));
}

export function targetsOf(opts: { target?: unknown }): string[] {
  // `--target a --target a` means a once.
  return Array.isArray(opts.target) ? [...new Set(opts.target as string[])] : [];
}

/**
 * Run with SIGINT/SIGTERM turned into an abort: running actions finish, nothing new begins,
 * the lock is released. A second signal exits at once.
 */
export async function withInterrupts<T>(io: CommandIO, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    io.stderr(`\n${signal} received: finishing the actions already running, starting no new ones (send it again to stop at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
