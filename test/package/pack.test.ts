// What `npm install iact` gets: everything iact's messages point to, and no build on install.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/iact-project.js';

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    return statSync(path.join(repoRoot, rel)).isDirectory() ? filesUnder(rel) : [rel];
  });
}

describe('the npm package', () => {
  let packed: Set<string>;
  beforeAll(() => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    packed = new Set((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
  }, 120_000);

  it('ships the CLI, the library, the bash drivers, the schemas and the docker scripts', () => {
    for (const file of ['dist/cli.js', 'dist/index.js', 'dist/index.d.ts', 'scripts/docker-engine.sh', 'scripts/docker-images.sh'])
      expect(packed, file).toContain(file);
    for (const dir of ['bash', 'schemas', 'scripts/docker-images']) {
      for (const file of filesUnder(dir)) expect(packed, file).toContain(file);
    }
  });

  it('ships every scripts/ and docs/ file that a message or a fix names', () => {
    const sources = [...filesUnder('bash'), ...filesUnder('src')].filter((f) => !f.endsWith('.generated.ts'));
    const named = new Set<string>();
    for (const file of sources) {
      const text = readFileSync(path.join(repoRoot, file), 'utf8');
      // Quoted text only: comments naming build-time generators (scripts/gen-*.mjs) are not messages.
      for (const literal of text.match(/(['"`])(?:(?!\1).)*\1/g) ?? []) {
        for (const m of literal.matchAll(/\b((?:scripts|docs)\/[\w.-]+\.(?:sh|md))\b/g)) named.add(m[1]!);
      }
    }
    expect(named.size).toBeGreaterThan(0);
    for (const file of named) expect(packed, `${file} is named in a message`).toContain(file);
  });

  it('does not build on install: no prepare, prepack or install script', () => {
    const scripts = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const hook of ['prepare', 'prepack', 'preinstall', 'install', 'postinstall']) expect(scripts, hook).not.toHaveProperty(hook);
  });
});
