// Runs the steps of action.yml as the GitHub runner does a composite action: each `run` in
// `bash --noprofile --norc -eo pipefail`, its `env:` and `working-directory` with the ${{ }}
// expressions filled in from inputs (their defaults included), github, runner and earlier steps' outputs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/iact-project.js';

interface Step {
  id?: string;
  name?: string;
  shell?: string;
  run: string;
  env?: Record<string, string>;
  'working-directory'?: string;
}

interface ActionFile {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

export interface ActionRun {
  /** The action's exit code: the first failing step's, else 0. */
  exitCode: number;
  outputs: Record<string, string>;
  /** What the steps printed, stdout and stderr interleaved (workflow commands such as ::error:: go to stdout). */
  log: string;
  /** What the steps appended to the job summary ($GITHUB_STEP_SUMMARY). */
  summary: string;
  stepsRun: string[];
}

type Context = Record<string, unknown>;

function lookup(context: Context, expression: string): string {
  let value: unknown = context;
  for (const key of expression.trim().split('.'))
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value === undefined || value === null ? '' : String(value);
}

/** ${{ a.b.c }} with a dotted path only: action.yml keeps its expressions that simple. */
export function evaluate(template: string, context: Context): string {
  return template.replace(/\$\{\{([^}]*)\}\}/g, (_, expression: string) => {
    if (!/^\s*[A-Za-z_][\w-]*(\.[\w-]+)*\s*$/.test(expression)) throw new Error(`expression not supported by this runner: ${expression}`);
    return lookup(context, expression);
  });
}

function readOutputs(file: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) outputs[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return outputs;
}

export async function runAction(options: {
  workspace: string;
  inputs: Record<string, string>;
  github: Record<string, unknown>;
  env: Record<string, string>;
  /** Step ids not to run (the install step: the test builds dist/ itself). */
  skip?: string[];
}): Promise<ActionRun> {
  const action = parse(readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')) as ActionFile;
  if (action.runs.using !== 'composite') throw new Error('action.yml is not a composite action');
  const temp = mkdtempSync(path.join(tmpdir(), 'iact-action-runner-'));
  try {
    const github = { action_path: repoRoot, workspace: options.workspace, ...options.github };
    const runner = { temp };
    const inputs: Record<string, string> = {};
    for (const [name, spec] of Object.entries(action.inputs))
      inputs[name] = options.inputs[name] ?? evaluate(spec.default ?? '', { github, runner });
    const steps: Record<string, { outputs: Record<string, string> }> = {};
    const summaryFile = path.join(temp, 'step-summary.md');
    writeFileSync(summaryFile, '');
    let log = '';
    const stepsRun: string[] = [];
    let exitCode = 0;
    for (const [index, step] of action.runs.steps.entries()) {
      if (step.id && options.skip?.includes(step.id)) continue;
      if (step.shell !== 'bash') throw new Error(`step ${step.name}: only shell: bash is run here`);
      const context = { inputs, github, runner, steps };
      const outputFile = path.join(temp, `output-${index}`);
      writeFileSync(outputFile, '');
      const stepEnv: Record<string, string> = {};
      for (const [key, value] of Object.entries(step.env ?? {})) stepEnv[key] = evaluate(String(value), context);
      const cwd = path.resolve(options.workspace, evaluate(step['working-directory'] ?? '.', context));
      const result = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run], {
        cwd,
        env: {
          ...options.env,
          ...stepEnv,
          GITHUB_OUTPUT: outputFile,
          GITHUB_STEP_SUMMARY: summaryFile,
          GITHUB_WORKSPACE: options.workspace,
          RUNNER_TEMP: temp,
        },
        extendEnv: false,
        reject: false,
        all: true,
      });
      stepsRun.push(step.id ?? step.name ?? String(index));
      log += `${String(result.all)}\n`;
      if (step.id) steps[step.id] = { outputs: readOutputs(outputFile) };
      if (result.exitCode !== 0) {
        exitCode = result.exitCode ?? 1;
        break;
      }
    }
    const outputs: Record<string, string> = {};
    for (const [name, spec] of Object.entries(action.outputs)) outputs[name] = evaluate(spec.value, { inputs, github, runner, steps });
    return { exitCode, outputs, log, summary: readFileSync(summaryFile, 'utf8'), stepsRun };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
