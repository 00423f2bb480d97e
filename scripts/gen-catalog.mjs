#!/usr/bin/env node
// Generates bash/lib/catalog.sh and the services enum of schemas/manifest.schema.json from the
// service catalogue in src/catalog/ (docs/service-catalogue.md); runs in `npm run build`.
// `--check` changes nothing and fails when a generated file is out of date.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const catalogSh = path.join(root, 'bash/lib/catalog.sh');
const schemaPath = path.join(root, 'schemas/manifest.schema.json');

// The catalogue is TypeScript; esbuild turns it into one module in memory (no dist/ needed).
const bundled = await build({
  absWorkingDir: root,
  stdin: {
    contents: "export { renderCatalogSh } from './src/catalog/bash.ts'; export { SERVICES } from './src/catalog/index.ts';",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'node',
  logLevel: 'error',
});
const { renderCatalogSh, SERVICES } = await import(
  `data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`
);

/** The schema with sandboxFields.service's enum set to the catalogue's services (its layout kept). */
function schemaText() {
  const text = readFileSync(schemaPath, 'utf8');
  const re = /("service": \{\s*"description": "[^"]*",\s*"enum": )\[[^\]]*\]/;
  if (!re.test(text)) throw new Error('schemas/manifest.schema.json: sandboxFields.service has no enum to generate');
  return text.replace(re, (_, head) => `${head}[${SERVICES.map((s) => JSON.stringify(s)).join(', ')}]`);
}

const outputs = [
  [catalogSh, renderCatalogSh()],
  [schemaPath, schemaText()],
];
const read = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};
const stale = outputs.filter(([file, text]) => read(file) !== text);
if (process.argv.includes('--check')) {
  for (const [file] of stale)
    process.stderr.write(`${path.relative(root, file)} is out of date: run node scripts/gen-catalog.mjs (npm run build does)\n`);
  process.exit(stale.length > 0 ? 1 : 0);
}
for (const [file, text] of stale) writeFileSync(file, text);
// The manifest validator is compiled from the schema: keep it in step.
if (stale.some(([file]) => file === schemaPath))
  execFileSync(process.execPath, [path.join(root, 'scripts/gen-manifest-validator.mjs')], { stdio: 'inherit' });
