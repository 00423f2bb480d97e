#!/usr/bin/env node
// Benchmarks of the engine end to end, through the built CLI and the real lightweight driver:
//   plan of 10/100/1000 `none` sandboxes (wall, peak RSS), apply of 100/1000 `none` sandboxes,
//   and 10 lightweight postgres sandboxes from nothing to all accepting logins.
// Usage: npm run build && node bench/plan-apply.mjs [--sizes 10,100,1000] [--runs 5] [--skip-postgres]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist', 'cli.js');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const sizes = flag('--sizes', '10,100,1000').split(',').map(Number);
const runs = Number(flag('--runs', '5'));
const skipPostgres = args.includes('--skip-postgres');

function project(count, service, basePort) {
  const dir = mkdtempSync(path.join(tmpdir(), `iact-bench-${service}-${count}-`));
  mkdirSync(path.join(dir, 'environments'));
  const lines = ['apiVersion: iact/v1', 'environment: development', 'defaults: { driver: lightweight }', 'sandboxes:'];
  for (let i = 0; i < count; i++) {
    lines.push(`  sb-${i}:`, `    service: ${service}`, `    port: ${basePort + i}`);
    if (service !== 'none') lines.push('    database: bench', '    user: bench', '    password: ${BENCH_PASSWORD}');
  }
  writeFileSync(path.join(dir, 'environments', 'development.yaml'), `${lines.join('\n')}\n`);
  writeFileSync(path.join(dir, '.env'), 'BENCH_PASSWORD=bench-password-123\n', { mode: 0o600 });
  return dir;
}

function iact(dir, cliArgs, { allowFail = false } = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [cli, ...cliArgs], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0 && !allowFail) {
    throw new Error(`iact ${cliArgs.join(' ')} exited ${result.status}\n${result.stderr.slice(-2000)}`);
  }
  return { seconds, status: result.status, stdout: result.stdout };
}

/** Peak RSS in MB of one run, from GNU time. */
function peakRss(dir, cliArgs) {
  const result = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cli, ...cliArgs], { cwd: dir, encoding: 'utf8' });
  const kb = Number(result.stderr.trim().split('\n').pop());
  return kb / 1024;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];

for (const n of sizes) {
  const dir = project(n, 'none', 30000);
  try {
    const apply = iact(dir, ['apply', '--auto-approve']);
    const plans = Array.from({ length: runs }, () => iact(dir, ['plan', '--detailed-exitcode']).seconds);
    const check = iact(dir, ['plan', '--detailed-exitcode'], { allowFail: true });
    if (check.status !== 0) throw new Error(`plan after apply of ${n} should say No changes (exit ${check.status})`);
    const rss = peakRss(dir, ['plan']);
    rows.push({ case: `none x ${n}`, apply_s: apply.seconds, plan_median_s: median(plans), plan_peak_rss_mb: rss });
    console.error(
      `none x ${n}: apply ${apply.seconds.toFixed(2)} s, plan ${median(plans).toFixed(3)} s (median of ${runs}), peak ${rss.toFixed(0)} MB`,
    );
  } finally {
    iact(dir, ['destroy', '--auto-approve'], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!skipPostgres) {
  const dir = project(10, 'postgres', 31000);
  try {
    const apply = iact(dir, ['apply', '--auto-approve']);
    // "accepting logins": apply returns only after each create's real login; prove it once more.
    for (let i = 0; i < 10; i++) {
      execFileSync('psql', ['-h', '127.0.0.1', '-p', String(31000 + i), '-U', 'bench', '-d', 'bench', '-Atc', 'select 1'], {
        env: { ...process.env, PGPASSWORD: 'bench-password-123' },
      });
    }
    rows.push({ case: 'postgres x 10 (lightweight)', apply_s: apply.seconds });
    console.error(`postgres x 10: apply until all accept logins ${apply.seconds.toFixed(2)} s`);
  } finally {
    iact(dir, ['destroy', '--auto-approve', '--no-backup'], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

const node0 = median(
  Array.from({ length: runs }, () => {
    const t = process.hrtime.bigint();
    execFileSync(process.execPath, ['-e', '0']);
    return Number(process.hrtime.bigint() - t) / 1e9;
  }),
);
console.log(JSON.stringify({ node_e_0_s: node0, rows }, null, 2));
