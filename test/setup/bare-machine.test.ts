// scripts/setup.sh on a simulated bare machine: a PATH without shellcheck and dockerd, an apt-get
// and an npm that record what they are asked (and "install" the tools), then the same run again.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/services.js';

const SETUP = path.join(repoRoot, 'scripts', 'setup.sh');
const HIDDEN = ['shellcheck', 'dockerd'];
/** What setup.sh checks (its REQUIREMENTS table), as stand-ins: the simulation tests setup.sh's decisions, not the tools. */
const PRESENT = [...readFileSync(SETUP, 'utf8').matchAll(/^ {2}"([^|"]+)\|/gm)].map((m) => m[1]!).filter((tool) => !HIDDEN.includes(tool));
/** What setup.sh runs itself: the real coreutils. */
const COREUTILS = ['dirname', 'id', 'env', 'sed', 'readlink'];

function script(file: string, body: string): void {
  writeFileSync(file, `#!/bin/bash\nset -euo pipefail\n${body}\n`);
  chmodSync(file, 0o755);
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function bareMachine(): { bin: string; aptLog: string; npmLog: string; run: (args?: string[]) => { code: number; out: string } } {
  dir = mkdtempSync(path.join(tmpdir(), 'iact-bare-'));
  const bin = path.join(dir, 'bin');
  execFileSync('mkdir', [bin]);
  for (const tool of COREUTILS)
    symlinkSync(execFileSync('bash', ['-c', 'command -v "$1"', 'which', tool], { encoding: 'utf8' }).trim(), path.join(bin, tool));
  for (const tool of PRESENT) script(path.join(bin, tool), 'exit 0');
  script(path.join(bin, 'node'), 'echo 20.19.0');
  const aptLog = path.join(dir, 'apt.log');
  const npmLog = path.join(dir, 'npm.log');
  // apt-get "installs" a package by putting its commands on this PATH.
  script(
    path.join(bin, 'apt-get'),
    `printf '%s\\n' "$*" >> '${aptLog}'
if [[ "$1" == install ]]; then
  for p in "$@"; do
    case "$p" in
      shellcheck) printf '#!/bin/bash\\n' > '${bin}/shellcheck'; /bin/chmod +x '${bin}/shellcheck' ;;
      docker.io) printf '#!/bin/bash\\n' > '${bin}/dockerd'; /bin/chmod +x '${bin}/dockerd' ;;
    esac
  done
fi`,
  );
  // npm link makes `iact` a link to this checkout's CLI, as the real one does through the global prefix.
  script(
    path.join(bin, 'npm'),
    `printf '%s\\n' "$*" >> '${npmLog}'\n[[ "$1" != link ]] || /bin/ln -sf '${path.join(repoRoot, 'dist', 'cli.js')}' '${bin}/iact'`,
  );
  script(path.join(bin, 'sudo'), 'exec "$@"');
  const run = (args: string[] = []) => {
    const r = spawnSync('/bin/bash', [SETUP, ...args], { encoding: 'utf8', env: { PATH: bin, HOME: dir } });
    return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
  };
  return { bin, aptLog, npmLog, run };
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');

describe('scripts/setup.sh on a bare machine', () => {
  it('--check lists exactly what is missing and installs nothing', () => {
    const m = bareMachine();
    for (const tool of HIDDEN) expect(existsSync(path.join(m.bin, tool))).toBe(false);
    const r = m.run(['--check']);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('  shellcheck (apt package shellcheck): npm test (lint of bash/)');
    expect(r.out).toContain('  dockerd (apt package docker.io): the docker driver and its tests');
    expect(r.out.split('\n').filter((l) => l.startsWith('  '))).toHaveLength(2);
    expect(read(m.aptLog)).toBe('');
    expect(read(m.npmLog)).toBe('');
  });

  it('installs only the missing packages, then npm ci, build and link; a second run installs nothing', () => {
    const m = bareMachine();
    const first = m.run();
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain('setup: apt-get install shellcheck docker.io');
    expect(read(m.aptLog)).toBe('update -qq\ninstall -y -qq --no-install-recommends shellcheck docker.io\n');
    expect(read(m.npmLog)).toBe('ci\nrun build\nlink\n');

    const second = m.run();
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain('setup: every system package is present');
    expect(read(m.aptLog).split('\n').filter(Boolean)).toHaveLength(2); // no new apt-get call
    expect(read(m.npmLog)).toBe('ci\nrun build\nlink\nci\nrun build\n'); // iact runs this checkout now: no second link
    expect(m.run(['--check'])).toEqual({ code: 0, out: 'setup: nothing is missing\n' });
  });

  it('links again when the iact on PATH is another checkout', () => {
    const m = bareMachine();
    script(path.join(m.bin, 'iact'), 'echo another checkout');
    for (const tool of HIDDEN) script(path.join(m.bin, tool), 'exit 0');
    const r = m.run();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('setup: npm link (makes iact a command that runs this checkout)');
    expect(read(m.npmLog)).toBe('ci\nrun build\nlink\n');
  });

  it("refuses a Node.js older than iact needs, before installing anything (Debian's own nodejs is 18)", () => {
    const m = bareMachine();
    script(path.join(m.bin, 'node'), 'echo 18.19.0');
    const r = m.run();
    expect(r.code).toBe(1);
    expect(r.out).toContain('error: iact needs Node.js 20.5 or newer');
    expect(r.out).toContain('fix: install Node.js 20 or 22');
    expect(read(m.aptLog)).toBe('');
    expect(read(m.npmLog)).toBe('');
  });
});
