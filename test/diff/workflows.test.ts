// The example GitHub Actions workflows are valid YAML and every `iact` command they run parses
// with the real CLI definition (buildProgram): subcommands, flags and choices all exist.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli.js';
import { REPO_ROOT } from './helpers.js';

const DIR = path.join(REPO_ROOT, 'examples/github-actions');
const FILES = ['pr-check.yml', 'gitops-apply.yml'];

type Step = { name?: string; run?: string; uses?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Workflow = { name: string; on: unknown; jobs: Record<string, { 'runs-on': unknown; steps: Step[] }> };

/** Split a shell command line the way sh would for these simple cases: quotes, and stop at > | ; && ||. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
      continue;
    }
    if (/\s/.test(ch)) {
      if (started) words.push(word);
      word = '';
      started = false;
      continue;
    }
    if ('>|;&<'.includes(ch) || (ch === '2' && line[i + 1] === '>')) break;
    word += ch;
    started = true;
  }
  if (started) words.push(word);
  return words;
}

/** Every `iact ...` command in a workflow's run steps, with ${{ }} and $VARS given sample values. */
function iactCommands(workflow: Workflow): string[][] {
  const out: string[][] = [];
  for (const job of Object.values(workflow.jobs)) {
    for (const step of job.steps) {
      if (!step.run) continue;
      const script = step.run
        .replace(/\\\n/g, ' ')
        .replace(/\$\{\{[^}]*\}\}/g, 'main')
        .replace(/\$\{?[A-Z_]+\}?/g, 'main');
      for (const line of script.split('\n')) {
        // The command word `iact` (node_modules/.bin is on the PATH), not a word that merely ends in it.
        const found = /(?:^|[\s;&|(])iact (?=\S)/.exec(line);
        if (!found) continue;
        out.push(shellWords(line.slice(found.index + found[0].length)));
      }
    }
  }
  return out;
}

/** Parse like the CLI would, with every action replaced so nothing runs. Throws on an unknown command or flag. */
function parses(args: string[]): { command: string; opts: Record<string, unknown> } {
  const program = buildProgram();
  let seen: { command: string; opts: Record<string, unknown> } | undefined;
  const quiet = { writeOut: () => {}, writeErr: () => {} };
  program.configureOutput(quiet);
  for (const cmd of program.commands) {
    cmd.configureOutput(quiet);
    cmd.action((...received: unknown[]) => {
      const c = received[received.length - 1] as Command;
      seen = { command: c.name(), opts: c.opts() };
    });
  }
  program.parse(args, { from: 'user' });
  if (!seen) throw new Error(`no subcommand ran for: iact ${args.join(' ')}`);
  return seen;
}

describe.each(FILES)('examples/github-actions/%s', (file) => {
  const text = readFileSync(path.join(DIR, file), 'utf8');
  const workflow = parse(text) as Workflow;

  it('is a workflow: name, trigger, jobs with steps', () => {
    expect(typeof workflow.name).toBe('string');
    expect(workflow.on).toBeTruthy();
    const jobs = Object.values(workflow.jobs);
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) {
      expect(job['runs-on']).toBeTruthy();
      for (const step of job.steps) expect(Boolean(step.run) !== Boolean(step.uses), JSON.stringify(step)).toBe(true);
    }
  });

  it('every iact command it runs is a real subcommand with real flags', () => {
    const commands = iactCommands(workflow);
    expect(commands.length).toBeGreaterThan(1);
    for (const args of commands) expect(() => parses(args), `iact ${args.join(' ')}`).not.toThrow();
  });
});

describe('the workflows run what the issue asks for', () => {
  const load = (file: string) => parse(readFileSync(path.join(DIR, file), 'utf8')) as Workflow;

  it('the PR check validates, keeps one diff comment through action.yml, and puts the parity table in the summary', () => {
    const wf = load('pr-check.yml');
    const commands = iactCommands(wf).map((args) => parses(args));
    expect(commands.map((c) => c.command)).toEqual(['validate', 'diff']);
    expect(commands[0]!.opts).toMatchObject({ all: true });
    expect(commands[1]!.opts).toMatchObject({ env: ['staging', 'production'], format: 'markdown', summary: true });
    const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
    expect(steps.find((s) => s.uses?.startsWith('actions/checkout'))?.with).toMatchObject({ 'fetch-depth': 0 });
    // The comment is the repository's own action (action.yml, tested in test/action/): its inputs exist there.
    const comment = steps.find((s) => s.uses?.includes('/iact@'));
    const action = parse(readFileSync(path.join(REPO_ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown> };
    expect(comment?.with).toMatchObject({ command: 'diff' });
    for (const input of Object.keys(comment?.with ?? {})) expect(Object.keys(action.inputs)).toContain(input);
  });

  it('the GitOps job applies staging on push to main, unattended', () => {
    const wf = load('gitops-apply.yml');
    expect(wf.on).toMatchObject({ push: { branches: ['main'] } });
    const commands = iactCommands(wf).map((args) => parses(args));
    expect(commands.find((c) => c.command === 'apply')?.opts).toMatchObject({ env: 'staging', autoApprove: true });
  });

  it('the checker itself refuses what the CLI refuses', () => {
    expect(() => parses(['diff', '--from', 'x', '--bogus'])).toThrow(/unknown option '--bogus'/);
    expect(() => parses(['diff', '--format', 'yaml'])).toThrow(/Allowed choices are text, json, markdown/);
    expect(() => parses(['deploy'])).toThrow(/unknown command 'deploy'/);
    expect(parses(['diff', '--env', 'a', '--env', 'b']).opts).toMatchObject({ env: ['a', 'b'] });
  });

  it('the separator in the example is the one the renderer uses', async () => {
    const { DIFF_PART_SEPARATOR } = await import('../../src/diff/split.js');
    expect(DIFF_PART_SEPARATOR.trim()).toBe('<!-- iact-diff: next comment -->');
    expect(readdirSync(DIR).sort()).toEqual(expect.arrayContaining(FILES));
  });
});
