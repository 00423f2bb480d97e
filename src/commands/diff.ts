// iact diff: desired-state change between git revisions, or environments side by side. Reads
// manifests only (from git or the working tree); never observes or touches the machine, needs no secrets.
import { appendFile } from 'node:fs/promises';
import { DiagnosticError, diag } from '../diagnostics.js';
import {
  buildParity,
  compareRevisions,
  DIFF_PART_SEPARATOR,
  hasDifferences,
  renderDiff,
  renderDiffMarkdown,
  resolveSet,
  secretsOf,
  type DiffFormat,
  type DiffReport,
  type ManifestSet,
} from '../diff/index.js';
import type { ResolvedSide, Variables } from '../diff/values.js';
import { gitLocation, readRevision, readWorkingTree, resolveRef, WORKING_TREE } from '../git/revision.js';
import { readVariables, unknownEnvironment } from '../io/load.js';
import { findProjectRoot } from '../project.js';
import { redact } from '../secrets/index.js';
import type { CommandIO } from './io.js';

interface DiffOptions {
  dir?: string;
  from?: string;
  to?: string;
  env: string[];
  format: DiffFormat;
  summary: boolean;
  detailedExitcode: boolean;
}

function parseOptions(opts: Record<string, unknown>): DiffOptions {
  const env = Array.isArray(opts.env) ? (opts.env as string[]) : typeof opts.env === 'string' ? [opts.env] : [];
  return {
    dir: typeof opts.dir === 'string' ? opts.dir : undefined,
    from: typeof opts.from === 'string' ? opts.from : undefined,
    to: typeof opts.to === 'string' ? opts.to : undefined,
    env,
    format: (opts.format as DiffFormat | undefined) ?? 'text',
    summary: Boolean(opts.summary),
    detailedExitcode: Boolean(opts.detailedExitcode),
  };
}

function checkCombination(o: DiffOptions, io: CommandIO): void {
  const problems = [];
  if (o.from !== undefined && o.env.length >= 2) {
    problems.push(
      diag('--from and several --env cannot be combined', {
        code: 'diff.usage',
        detail: '--from compares two revisions of every environment; --env A --env B compares environments with each other',
        fix: 'run `iact diff --from REF [--env NAME]` or `iact diff --env A --env B [--to REF]`',
      }),
    );
  }
  if (o.from === undefined && o.env.length < 2) {
    problems.push(
      diag(
        o.to !== undefined
          ? '--to needs --from (or two --env to compare environments at that revision)'
          : 'iact diff needs --from GITREF or two --env',
        {
          code: 'diff.usage',
          fix: 'e.g. `iact diff --from origin/main` (what this branch changes) or `iact diff --env staging --env production` (parity)',
        },
      ),
    );
  }
  const repeated = o.env.filter((e, i) => o.env.indexOf(e) !== i);
  if (repeated.length > 0) {
    problems.push(diag(`--env ${repeated[0]} is given twice`, { code: 'diff.usage', fix: 'name each environment once' }));
  }
  if (o.summary && !io.env.GITHUB_STEP_SUMMARY) {
    problems.push(
      diag('--summary appends to $GITHUB_STEP_SUMMARY, which is not set', {
        code: 'diff.no-step-summary',
        detail: 'GitHub Actions sets it in every step; outside Actions there is no job summary to append to',
        fix: 'run it in a GitHub Actions step, set GITHUB_STEP_SUMMARY=path/to/file, or drop --summary and redirect --format markdown to a file',
      }),
    );
  }
  if (problems.length > 0) throw new DiagnosticError(problems);
}

/** Same variables on both sides, so only manifest edits show: the process environment and the working tree's .env files. */
function variableSource(root: string, io: CommandIO): (environment: string) => Variables {
  const cache = new Map<string, Variables>();
  return (environment) => {
    if (!cache.has(environment)) cache.set(environment, readVariables(root, environment, io.env));
    return cache.get(environment)!;
  };
}

function onlyEnvironment(set: ManifestSet, environment: string | undefined): ManifestSet {
  if (environment === undefined) return set;
  const manifests = new Map([...set.manifests].filter(([name]) => name === environment));
  return { ...set, manifests };
}

async function revisionReport(o: DiffOptions, root: string, io: CommandIO) {
  await gitLocation(root);
  const fromCommit = await resolveRef(root, o.from!, '--from');
  const toCommit = o.to !== undefined ? await resolveRef(root, o.to, '--to') : undefined;
  let from = await readRevision(root, o.from!, fromCommit);
  let to = o.to !== undefined && toCommit ? await readRevision(root, o.to, toCommit) : readWorkingTree(root);
  const only = o.env[0];
  if (only !== undefined && !from.manifests.has(only) && !to.manifests.has(only)) {
    const known = [...new Set([...from.manifests.keys(), ...to.manifests.keys()])].sort();
    throw new DiagnosticError(
      diag(`no manifest for environment "${only}" in ${from.label} or ${to.label}`, {
        code: 'env.unknown',
        fix:
          known.length > 0
            ? `use --env ${known.join(' | ')}, or drop --env to diff every environment`
            : 'neither side has manifests in environments/',
      }),
    );
  }
  from = onlyEnvironment(from, only);
  to = onlyEnvironment(to, only);
  const variablesFor = variableSource(root, io);
  const before = resolveSet(from, root, variablesFor);
  const after = resolveSet(to, root, variablesFor);
  const report = compareRevisions({ from, to, before, after });
  const sides = [...before, ...after].map(([env, side]) => ({ side, variables: variablesFor(env) }));
  return { report, secrets: secretsOf(sides), failed: report.summary.errors > 0 };
}

async function parityReport(o: DiffOptions, root: string, io: CommandIO) {
  let set: ManifestSet;
  if (o.to !== undefined) {
    await gitLocation(root);
    set = await readRevision(root, o.to, await resolveRef(root, o.to, '--to'));
  } else {
    set = readWorkingTree(root);
  }
  const missing = o.env.filter((e) => !set.manifests.has(e));
  if (missing.length > 0) {
    if (o.to === undefined) throw new DiagnosticError(missing.map((e) => unknownEnvironment(root, e, '--env')));
    const known = [...set.manifests.keys()].sort().join(' | ') || '(none)';
    throw new DiagnosticError(
      missing.map((e) => diag(`no manifest for environment "${e}" at ${o.to}`, { code: 'env.unknown', fix: `use --env ${known}` })),
    );
  }
  const chosen: ManifestSet = { ...set, manifests: new Map(o.env.map((e) => [e, set.manifests.get(e)!])) };
  const variablesFor = variableSource(root, io);
  const sides = resolveSet(chosen, root, variablesFor);
  const secrets = secretsOf([...sides].map(([env, side]) => ({ side, variables: variablesFor(env) })));
  const broken = [...sides].filter(([, side]) => !side.resolved);
  if (broken.length > 0) {
    throw new DiagnosticError(
      broken.map(([env, side]: [string, ResolvedSide]) =>
        diag(`environment ${env} does not resolve, so it cannot be compared`, {
          code: 'diff.unresolved',
          detail: redact(side.problems.join('\n'), secrets),
          fix: `run \`iact validate --env ${env}\` and fix what it reports`,
        }),
      ),
    );
  }
  const report = buildParity({
    source: o.to !== undefined ? `manifests at ${o.to}` : `manifests in the ${WORKING_TREE}`,
    environments: o.env.map((e) => sides.get(e)!.resolved!),
  });
  return { report, secrets, failed: false };
}

export default async function diff(rawOpts: Record<string, unknown>, io: CommandIO): Promise<number> {
  const o = parseOptions(rawOpts);
  checkCombination(o, io);
  const root = findProjectRoot(io.cwd, o.dir);
  const { report, secrets, failed }: { report: DiffReport; secrets: string[]; failed: boolean } =
    o.from !== undefined ? await revisionReport(o, root, io) : await parityReport(o, root, io);

  const rendered = renderDiff(report, o.format, { color: io.color && o.format === 'text' });
  io.stdout(redact(rendered, secrets));

  if (o.summary) {
    const markdown = redact(renderDiffMarkdown(report).join(DIFF_PART_SEPARATOR), secrets);
    try {
      await appendFile(io.env.GITHUB_STEP_SUMMARY!, `${markdown}\n`);
    } catch (error) {
      throw new DiagnosticError(
        diag(`could not append to $GITHUB_STEP_SUMMARY (${io.env.GITHUB_STEP_SUMMARY})`, {
          code: 'diff.step-summary',
          detail: (error as Error).message,
          fix: 'point GITHUB_STEP_SUMMARY at a writable file',
        }),
      );
    }
  }

  if (failed) return 1;
  if (o.detailedExitcode && hasDifferences(report)) return 2;
  return 0;
}
