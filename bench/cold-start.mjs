// Times N alternating cold runs of `node -e 0` and `node dist/cli.js validate --all`: median and min
// wall time, and mean CPU time (user+sys of the child, from /proc) which a busy machine disturbs less.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const runs = Number(process.argv[2] ?? 30);
const commands = { baseline: ['-e', '0'], validate: ['dist/cli.js', 'validate', '--all'] };
const hasProc = existsSync('/proc/self/stat');

/** user+sys of waited-for children, in ms (clock ticks of 10 ms, summed over many runs). */
function childrenCpuMs() {
  if (!hasProc) return 0;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

function once(args) {
  const cpuBefore = childrenCpuMs();
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wall, cpu: childrenCpuMs() - cpuBefore };
}

const samples = { baseline: [], validate: [] };
for (let i = 0; i < 3; i++) for (const args of Object.values(commands)) once(args); // warm the page cache
for (let i = 0; i < runs; i++) for (const [name, args] of Object.entries(commands)) samples[name].push(once(args));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = (xs) => ({
  median_ms: +median(xs.map((x) => x.wall)).toFixed(1),
  min_ms: +Math.min(...xs.map((x) => x.wall)).toFixed(1),
  cpu_ms: +(xs.reduce((a, x) => a + x.cpu, 0) / xs.length).toFixed(1),
});
const baseline = summary(samples.baseline);
const validate = summary(samples.validate);
const report = {
  runs,
  node: process.version,
  baseline,
  validate,
  ratio_wall_median: +(validate.median_ms / baseline.median_ms).toFixed(2),
  ratio_wall_min: +(validate.min_ms / baseline.min_ms).toFixed(2),
  ratio_cpu: hasProc ? +(validate.cpu_ms / baseline.cpu_ms).toFixed(2) : null,
};
writeFileSync('bench/results/cold-start.json', `${JSON.stringify(report, null, 2)}\n`);
const row = (label, s) => `${label.padEnd(32)} wall median ${s.median_ms} ms, min ${s.min_ms} ms; cpu ${s.cpu_ms} ms\n`;
process.stdout.write(
  row('node -e 0', baseline) +
    row('node dist/cli.js validate --all', validate) +
    `ratio (target <= 2.5x): wall median ${report.ratio_wall_median}x, wall min ${report.ratio_wall_min}x, cpu ${report.ratio_cpu ?? 'n/a'}x\n`,
);
process.exitCode = (report.ratio_cpu ?? report.ratio_wall_median) <= 2.5 ? 0 : 1;
