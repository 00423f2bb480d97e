// The boundaries of CONTRIBUTING.md "Folders": the pure core does no I/O (not even through another
// module), src/io/ is the edge, and no two folders import each other, directly or round a loop.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '../src');

/** Folders whose modules are pure functions of their arguments. */
const PURE = ['manifest', 'config', 'plan', 'render', 'diff', 'catalog', 'secrets', 'model', 'util', 'export'];
/** Packages that touch the file system, processes or the network. */
const EFFECTFUL = new Set([
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'child_process',
  'node:child_process',
  'net',
  'node:net',
  'execa',
  'write-file-atomic',
]);
/** The edge folder: a pure module may not import it even where its module happens to be pure today. */
const EDGE = 'io';

interface Module {
  file: string; // relative to src/, e.g. "plan/planner.ts"
  local: string[]; // resolved relative imports, relative to src/
  packages: string[];
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

// Static `import ... from`, `export ... from`, side-effect `import 'x'` and dynamic `import('x')`; `import type` is erased at build.
const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function parse(file: string): Module {
  const text = readFileSync(file, 'utf8');
  const local: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    if (m[2]) continue; // a type-only import does not exist at run time
    const spec = (m[3] ?? m[4])!;
    if (!spec.startsWith('.')) {
      packages.push(spec);
      continue;
    }
    const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
    expect(existsSync(target), `${path.relative(SRC, file)} imports ${spec}, which does not exist`).toBe(true);
    local.push(path.relative(SRC, target));
  }
  return { file: path.relative(SRC, file), local, packages };
}

const modules = new Map(sources(SRC).map((f) => [path.relative(SRC, f), parse(f)]));
const folderOf = (file: string): string => (file.includes('/') ? file.split('/')[0]! : file);

/** The chain of imports from `file` to a module that does I/O itself, or undefined when there is none. */
function effectChain(file: string, seen = new Set<string>()): string[] | undefined {
  if (seen.has(file)) return undefined;
  seen.add(file);
  const mod = modules.get(file)!;
  const direct = mod.packages.find((p) => EFFECTFUL.has(p));
  if (direct) return [file, direct];
  for (const dep of mod.local) {
    const chain = effectChain(dep, seen);
    if (chain) return [file, ...chain];
  }
  return undefined;
}

describe('architecture', () => {
  it('finds the sources it checks', () => {
    expect(modules.size).toBeGreaterThan(50);
    expect(modules.has('plan/planner.ts')).toBe(true);
  });

  it('the pure folders reach no fs, child_process, network or execa, not even through another module', () => {
    const leaks: string[] = [];
    for (const file of modules.keys()) {
      if (!PURE.includes(folderOf(file))) continue;
      const chain = effectChain(file);
      if (chain) leaks.push(chain.join(' -> '));
    }
    expect(leaks).toEqual([]);
  });

  it(`the pure folders never import the edge (src/${EDGE}/)`, () => {
    const leaks = [...modules.values()].flatMap((m) =>
      PURE.includes(folderOf(m.file)) ? m.local.filter((dep) => folderOf(dep) === EDGE).map((dep) => `${m.file} -> ${dep}`) : [],
    );
    expect(leaks).toEqual([]);
  });

  it('no import cycle between folders (a top-level file counts as its own folder)', () => {
    const edges = new Map<string, Map<string, string>>(); // folder -> folder -> one import that makes the edge
    for (const m of modules.values()) {
      for (const dep of m.local) {
        const from = folderOf(m.file);
        const to = folderOf(dep);
        if (from === to) continue;
        if (!edges.has(from)) edges.set(from, new Map());
        if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, `${m.file} -> ${dep}`);
      }
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (folder: string) => {
      state.set(folder, 'open');
      stack.push(folder);
      for (const next of edges.get(folder)?.keys() ?? []) {
        if (state.get(next) === 'open') {
          const loop = [...stack.slice(stack.indexOf(next)), next];
          cycles.push(
            loop
              .slice(1)
              .map((to, i) => edges.get(loop[i]!)!.get(to)!)
              .join(', '),
          );
        } else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(folder, 'done');
    };
    for (const folder of [...edges.keys()].sort()) if (!state.has(folder)) visit(folder);
    expect(cycles).toEqual([]);
  });

  it('src/cli.ts runs nothing when imported; src/bin.ts is the only entry that does', () => {
    const cli = readFileSync(path.join(SRC, 'cli.ts'), 'utf8');
    expect(cli).not.toMatch(/^\s*(void\s+)?main\(/m);
    expect(readFileSync(path.join(SRC, 'bin.ts'), 'utf8')).toMatch(/await main\(process\.argv\)/);
  });
});
