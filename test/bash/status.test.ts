// `status` reads sandbox.json two ways: lib/status.awk for lines in the shape iact writes, jq for
// anything else (hand edits, escapes, floats, broken JSON). Both must report the same thing jq alone would.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, needs, repoRoot, tempRoot, type TempRoot } from '../helpers/services.js';

const SCRIPT = path.join(repoRoot, 'bash', 'lightweight_venv.sh');

interface Status {
  name: string;
  service: string;
  port: number;
  running: boolean;
  healthy: boolean;
  pid: number | null;
  spec_hash: string;
  spec: Record<string, unknown> | null;
  data_bytes: number;
}

describe('bash status reader', () => {
  let root: TempRoot;
  let envDir: string;
  const run = (args: string[]) =>
    execa('bash', [SCRIPT, ...args, '--env', 'development'], { cwd: root.dir, env: root.env, stdin: 'ignore' });
  const specFile = (name: string) => path.join(envDir, name, 'sandbox.json');
  const edit = (name: string, change: (line: string) => string) =>
    writeFileSync(specFile(name), `${change(readFileSync(specFile(name), 'utf8').trim())}\n`);

  beforeAll(async () => {
    root = tempRoot('iact-status-');
    envDir = path.join(root.sandboxRoot, 'development');
    for (let i = 1; i <= 10; i++) await run(['create', `s${i}`, 'none', String(41000 + i)]);
    rmSync(specFile('s2')); // known only by .meta
    edit('s3', (line) => JSON.stringify(JSON.parse(line), null, 2)); // pretty-printed by hand
    edit('s4', (line) => JSON.stringify({ ...JSON.parse(line), settings: { ratio: 0.5, note: 'say "hi"\tthere' } })); // jq's path
    await run(['stop', 's5']);
    edit('s6', (line) => line.replace('"name":"s6"', '"name":"other"')); // names another sandbox
    edit('s7', (line) => line.replace(/}}$/, '}')); // broken JSON after a valid prefix
    edit('s8', (line) => line.replace('"driver":"lightweight"', '"driver":"docker"')); // not this driver's
    rmSync(path.join(envDir, 's9', '.initialized')); // its create never finished
    edit('s10', (line) => JSON.stringify({ ...JSON.parse(line), settings: { note: 'a "quoted" note' } })); // jq's path, and
    rmSync(path.join(envDir, 's10', '.initialized')); // never finished either
    mkdir('Bad_Name', readFileSync(specFile('s1'), 'utf8'));
  });
  afterAll(() => root.cleanup());

  function mkdir(name: string, spec: string): void {
    mkdirSync(path.join(envDir, name));
    writeFileSync(path.join(envDir, name, 'sandbox.json'), spec);
  }

  it('reports each sandbox as iact wrote it, falls back to .meta for the rest, and skips what is not its own', async () => {
    const r = await run(['status', '--json']);
    const statuses = (JSON.parse(r.stdout) as Status[]).sort((a, b) => (a.name < b.name ? -1 : 1));
    const byName = Object.fromEntries(statuses.map((s) => [s.name, s]));

    expect(Object.keys(byName)).toEqual(['s1', 's10', 's2', 's3', 's4', 's5', 's6', 's7', 's9']);
    // The awk path: the spec is the file's line, unchanged.
    expect(byName.s1!.spec).toEqual(JSON.parse(readFileSync(specFile('s1'), 'utf8')));
    expect(byName.s1).toMatchObject({ service: 'none', port: 41001, running: true, healthy: true, pid: null, data_bytes: 0 });
    expect(byName.s1!.spec_hash).toMatch(/^sha256:[0-9a-f]{32}$/);
    // The jq path: a float and escapes survive intact.
    expect(byName.s4!.spec).toMatchObject({ name: 's4', settings: { ratio: 0.5, note: 'say "hi"\tthere' } });
    expect(byName.s4).toMatchObject({ port: 41004, running: true });
    expect(byName.s5).toMatchObject({ running: false, healthy: false });
    // Unreadable or foreign specs, or a create that never finished: identity from .meta, spec null (the planner repairs them).
    for (const name of ['s2', 's3', 's6', 's7', 's9', 's10']) {
      expect(byName[name], name).toMatchObject({ service: 'none', spec: null, spec_hash: '' });
      expect(byName[name]!.port).toBe(41000 + Number(name.slice(1)));
    }
  });

  it('answers for the named sandboxes only, and as a table without --json', async () => {
    const named = JSON.parse((await run(['status', 's1', 's4', '--json'])).stdout) as Status[];
    expect(named.map((s) => s.name).sort()).toEqual(['s1', 's4']);
    const table = (await run(['status'])).stdout.split('\n');
    expect(table[0]).toBe('s1\tnone\t127.0.0.1:41001\trunning');
    expect(table).toContain('s5\tnone\t127.0.0.1:41005\tstopped');
  });

  it('prints an empty array for an environment with no sandboxes', async () => {
    const r = await execa('bash', [SCRIPT, 'status', '--json', '--env', 'staging'], { cwd: root.dir, env: root.env, stdin: 'ignore' });
    expect(r.stdout).toBe('[]');
  });
});

describe('bash status reader, racing a destroy', () => {
  let root: TempRoot;
  beforeAll(() => {
    root = tempRoot('iact-status-race-');
  });
  afterAll(() => root.cleanup());

  it('a sandbox removed between the directory scan and the read is left out, not an error', async () => {
    const run = (args: string[], env: Record<string, string> = {}) =>
      execa('bash', [SCRIPT, ...args, '--env', 'development'], { cwd: root.dir, env: { ...root.env, ...env }, stdin: 'ignore' });
    for (const name of ['keep', 'gone']) await run(['create', name, 'none', name === 'keep' ? '41101' : '41102']);
    // A shim before the real awk removes one sandbox after bash has listed it: the window a concurrent destroy hits.
    const bin = path.join(root.dir, 'race-bin');
    mkdirSync(bin);
    const victim = path.join(root.sandboxRoot, 'development', 'gone');
    for (const awk of ['awk', 'mawk']) {
      let real: string;
      try {
        real = execFileSync('bash', ['-c', `command -v ${awk}`], { encoding: 'utf8' }).trim();
      } catch {
        continue; // mawk is optional
      }
      writeFileSync(path.join(bin, awk), `#!/usr/bin/env bash\nrm -rf -- ${JSON.stringify(victim)}\nexec ${JSON.stringify(real)} "$@"\n`, {
        mode: 0o755,
      });
    }
    const r = await run(['status', '--json'], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Status[]).map((s) => s.name)).toEqual(['keep']);
  });
});

describe('lightweight create, after the sandbox directory was deleted behind iact', () => {
  let root: TempRoot;
  beforeAll(() => {
    root = tempRoot('iact-orphan-');
  });
  afterAll(() => root.cleanup());

  it('names the server still holding the port (its cwd is the deleted directory) and how to stop it', async (t) => {
    needs(t, 'redis');
    const port = await freePort();
    const spec = JSON.stringify({ name: 'oc', service: 'redis', port, password: 'orphan-pw-123', settings: {} });
    const create = () =>
      execa('bash', [SCRIPT, 'create', 'oc', 'redis', String(port), '--spec', '-', '--env', 'development'], {
        cwd: root.dir,
        env: root.env,
        input: spec,
        reject: false,
      });
    expect((await create()).exitCode).toBe(0);
    rmSync(path.join(root.sandboxRoot, 'development', 'oc'), { recursive: true, force: true });
    const again = await create();
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(`port ${port} is held by pid (\\d+), a server left running after the directory of sandbox 'oc' was deleted`),
    );
    expect(again.stderr).toContain('kill -9');
  });
});
