// Test helpers: copy a fixture project into a temp dir (dotenv* -> .env*, which git ignores) and run iact.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandIO } from '../../src/commands/io.js';
import configCommand from '../../src/commands/config.js';
import initCommand from '../../src/commands/init.js';
import validateCommand from '../../src/commands/validate.js';

const COMMANDS = { validate: validateCommand, config: configCommand, init: initCommand } as const;

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(REPO, 'test/fixtures/manifests');
export const CLI = path.join(REPO, 'dist/cli.js');

const made: string[] = [];

export function tempProject(fixture?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'iact-test-'));
  made.push(dir);
  if (fixture) {
    cpSync(fixture, dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      if (name.startsWith('dotenv')) renameSync(path.join(dir, name), path.join(dir, `.${name.slice(3)}`));
    }
  }
  return dir;
}

export function cleanupTemp(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command module in-process with a clean environment. */
export async function runCommand(
  name: 'validate' | 'config' | 'init',
  opts: Record<string, unknown>,
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  args: string[] = [],
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = { cwd, env, stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), isTTY: false, color: false };
  const run = COMMANDS[name] as (o: Record<string, unknown>, io: CommandIO, a: string[]) => Promise<number>;
  const code = await run(opts, io, args);
  return { code, stdout, stderr };
}

/** Run the built CLI (`npm run build` first) as a user would. */
export function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Captured> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before these tests`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, env: { PATH: process.env.PATH, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
