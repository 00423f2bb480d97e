#!/usr/bin/env node
// Rewrites test/setup/durations.json (how long each test file took, in ms) from a vitest JSON report, so
// a fresh checkout without vitest's cache still starts the longest files first (test/setup/sequencer.ts).
// Usage: npx vitest run --reporter=json --outputFile=/tmp/vt.json && node scripts/test-durations.mjs /tmp/vt.json
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const report = process.argv[2];
if (!report) {
  process.stderr.write('usage: node scripts/test-durations.mjs REPORT.json (from vitest --reporter=json --outputFile=REPORT.json)\n');
  process.exit(2);
}
const { testResults } = JSON.parse(readFileSync(report, 'utf8'));
const durations = Object.fromEntries(
  testResults
    .map((file) => [path.relative(root, file.name).split(path.sep).join('/'), Math.round(file.endTime - file.startTime)])
    .sort(([a], [b]) => (a < b ? -1 : 1)),
);
writeFileSync(path.join(root, 'test', 'setup', 'durations.json'), `${JSON.stringify(durations, null, 2)}\n`);
process.stdout.write(`test/setup/durations.json: ${testResults.length} files\n`);
