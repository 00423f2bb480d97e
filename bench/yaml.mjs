// Cold YAML parse of generated manifests (the format bench/plan-apply.mjs writes), each run in a fresh
// node process: the fast path alone, parseYaml (fast path through the public entry) and parseYamlFull.
// Prints JSON rows with the median module import and first-parse times in ms (and the fastest parse: on a
// busy machine the minimum is the steadier number).
// Usage: npm run build && node bench/yaml.mjs [--sizes 10,100,1000,3000] [--runs 7] [--dist dist]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const sizes = flag('--sizes', '10,100,1000,3000').split(',').map(Number);
const runs = Number(flag('--runs', '7'));
const dist = path.resolve(repo, flag('--dist', 'dist'));

function manifest(count) {
  const lines = ['apiVersion: iact/v1', 'environment: development', 'defaults: { driver: lightweight }', 'sandboxes:'];
  for (let i = 0; i < count; i++) lines.push(`  sb-${i}:`, '    service: none', `    port: ${30000 + i}`);
  return `${lines.join('\n')}\n`;
}

const modes = {
  fast: { module: 'manifest/yaml-fast.js', fn: 'parseYamlFast' },
  parseYaml: { module: 'manifest/yaml.js', fn: 'parseYaml' },
  full: { module: 'manifest/yaml.js', fn: 'parseYamlFull' },
};

/** One fresh process: import the module, read the file, parse once; times from inside the process. */
function coldRun(mode, file) {
  const { module, fn } = modes[mode];
  const script = `
    const t0 = performance.now();
    const m = await import(${JSON.stringify(pathToFileURL(path.join(dist, module)).href)});
    const t1 = performance.now();
    const text = (await import('node:fs')).readFileSync(${JSON.stringify(file)}, 'utf8');
    const t2 = performance.now();
    const parsed = m.${fn}(text, 'environments/development.yaml');
    const t3 = performance.now();
    if (!parsed || parsed.diagnostics.length > 0) throw new Error('${mode} did not parse the manifest');
    console.log(JSON.stringify({ import_ms: t1 - t0, parse_ms: t3 - t2 }));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${mode} run failed:\n${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (ms) => Math.round(ms * 10) / 10;
const dir = mkdtempSync(path.join(tmpdir(), 'iact-bench-yaml-'));
const rows = [];
try {
  for (const n of sizes) {
    const file = path.join(dir, `sandboxes-${n}.yaml`);
    const text = manifest(n);
    writeFileSync(file, text);
    for (const mode of Object.keys(modes)) {
      const samples = Array.from({ length: runs }, () => coldRun(mode, file));
      const row = {
        sandboxes: n,
        lines: text.split('\n').length - 1,
        mode,
        import_ms: round(median(samples.map((s) => s.import_ms))),
        parse_ms: round(median(samples.map((s) => s.parse_ms))),
        parse_ms_min: round(Math.min(...samples.map((s) => s.parse_ms))),
      };
      rows.push(row);
      console.error(
        `${n} sandboxes, ${mode}: import ${row.import_ms} ms, parse ${row.parse_ms} ms (median of ${runs}, fastest ${row.parse_ms_min} ms)`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(rows, null, 2));
