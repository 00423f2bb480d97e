#!/usr/bin/env node
// postbuild: bundle the CLI with esbuild. Loading execa, commander, yaml and ajv as ~300 separate ES
// modules cost ~200 ms of every `iact plan`; one entry plus a chunk per command loads in a fraction of
// that. tsc's dist/ stays as it is for library users (`import ... from 'iact'`).
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
rmSync(path.join(root, 'dist/chunks'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // src/bin.ts runs src/cli.ts; the output keeps the name users and package.json "bin" know: dist/cli.js.
  entryPoints: [{ in: 'src/bin.ts', out: 'cli' }],
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS dependencies (yaml, ajv's runtime, write-file-atomic) use require() and __filename.
  banner: {
    js: [
      "import { createRequire as __iactCreateRequire } from 'node:module';",
      "import { fileURLToPath as __iactFileURLToPath } from 'node:url';",
      'const require = __iactCreateRequire(import.meta.url);',
      'const __filename = __iactFileURLToPath(import.meta.url);',
    ].join('\n'),
  },
  legalComments: 'linked',
  logLevel: 'warning',
});
chmodSync(path.join(root, 'dist/cli.js'), 0o755);
