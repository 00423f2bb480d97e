// iact completion: the bash script loads, and completing in a real bash (COMP_WORDS as readline
// sets them) gives commands, flags, choices, environments and sandbox names from the manifests.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, makeProject, type Project } from '../helpers/iact-project.js';
import { needs } from '../helpers/services.js';

let project: Project;
let bin: string;

/** What `_iact_complete` puts in COMPREPLY for these words, the last one being completed. */
async function complete(words: string[], extraEnv: Record<string, string> = {}): Promise<string[]> {
  const quoted = words.map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(' ');
  const script = `set -euo pipefail; source <(iact completion bash); COMP_WORDS=(iact ${quoted}); COMP_CWORD=${words.length}; _iact_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = await execa('bash', ['-c', script], {
    cwd: project.dir,
    env: { PATH: `${bin}:${process.env.PATH}`, IACT_ENV: '', ENVIRONMENT: '', ...extraEnv },
  });
  return result.stdout.split('\n').filter(Boolean);
}

describe('iact completion', { timeout: 120_000 }, () => {
  beforeAll(() => {
    project = makeProject('iact-completion-');
    project.writeManifest(
      'development',
      'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  # the database\n  dev-postgres:\n    service: postgres\n    port: 55432\n    settings:\n      work_mem: 4MB\n  "dev-redis":\n    service: redis\n    port: 56379\nconnections:\n  cache: { backend: memory }\n',
    );
    project.writeManifest(
      'staging',
      'apiVersion: iact/v1\nenvironment: staging\nsandboxes: { stg-db: { service: postgres, port: 5544 }, stg-cache: { service: redis, port: 5545 } }\n',
    );
    bin = path.join(project.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'iact'), `#!/bin/sh\nexec "${process.execPath}" "${cliPath}" "$@"\n`);
    chmodSync(path.join(bin, 'iact'), 0o755);
  });
  afterAll(async () => project?.cleanup());

  it('source <(iact completion bash) registers the completion function', async () => {
    const result = await execa('bash', ['-c', 'source <(iact completion bash); complete -p iact'], {
      cwd: project.dir,
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect(result.stdout).toBe('complete -o default -F _iact_complete iact');
  });

  it('completes commands, flags and choices from the program', async () => {
    expect(await complete(['pl'])).toEqual(['plan']);
    expect(await complete(['co'])).toEqual(['config', 'connect', 'completion']);
    expect(await complete([''])).toContain('logs');
    expect(await complete([''])).not.toContain('__complete');
    expect(await complete(['logs', '--f'])).toEqual(['--follow']);
    expect(await complete(['plan', '--format', 'm'])).toEqual(['markdown']);
    expect(await complete(['completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  it('completes environment names and the sandbox names of the chosen environment', async () => {
    expect(await complete(['plan', '--env', ''])).toEqual(['development', 'staging']);
    expect(await complete(['logs', ''])).toEqual(['dev-postgres', 'dev-redis']);
    expect(await complete(['connect', 'dev-r'])).toEqual(['dev-redis']);
    expect(await complete(['logs', '--env', 'staging', ''])).toEqual(['stg-cache', 'stg-db']);
    expect(await complete(['exec', '-e', 'staging', 'stg-d'])).toEqual(['stg-db']);
    expect(await complete(['apply', '--target', ''], { IACT_ENV: 'staging' })).toEqual(['stg-cache', 'stg-db']);
    // After the sandbox, and after --, the shell's own completion takes over.
    expect(await complete(['exec', 'dev-postgres', '--', 'ps'])).toEqual([]);
  });

  it('zsh: the completion function offers the same candidates (compadd), and files after --', async (ctx) => {
    needs(ctx, 'zsh');
    // compadd and compdef exist only inside zsh's completion system: stand-ins print what they are given.
    const script = `compdef() { :; }; compadd() { local name=\${@[-1]}; print -l -- \${(P)name}; }; _files() { print FILES; }
source <(iact completion zsh)
words=(iact pl); CURRENT=2; _iact
words=(iact logs --env staging ''); CURRENT=5; _iact
words=(iact exec dev-postgres -- ''); CURRENT=5; _iact`;
    const result = await execa('zsh', ['-c', script], { cwd: project.dir, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(result.stdout.split('\n')).toEqual(['plan', 'stg-cache', 'stg-db', 'FILES']);
  });

  it('fish: complete -C gives the same candidates', async (ctx) => {
    needs(ctx, 'fish');
    const script = 'iact completion fish | source; complete -C"iact pl"; complete -C"iact connect dev-"; complete -C"iact plan --env s"';
    const result = await execa('fish', ['--no-config', '-c', script], {
      cwd: project.dir,
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: project.dir },
    });
    expect(result.stdout.split('\n')).toEqual(['plan', 'dev-postgres', 'dev-redis', 'staging']);
  });

  it('refuses a shell it has no script for', async () => {
    const bad = await project.iact(['completion', 'tcsh']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("value 'tcsh' is invalid for argument 'shell'");
  });
});
