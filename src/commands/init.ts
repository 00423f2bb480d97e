// `iact init`: scaffold environments/, .env.example and .gitignore lines; never overwrites a file.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, diag, formatDiagnostics } from '../diagnostics.js';
import { ENV_EXAMPLE_TEMPLATE, manifestTemplate } from '../manifest/templates.js';
import type { CommandIO } from './io.js';

interface InitOptions {
  dir?: string;
}

/** Installed as a dependency, the schema sits in node_modules; editors follow this comment. */
export const SCAFFOLD_SCHEMA_REF = '../node_modules/iact/schemas/manifest.schema.json';
export const GITIGNORE_LINES = ['.env', '.env.*', '!.env.example', '.iact/'];

export default async function init(opts: InitOptions, io: CommandIO): Promise<number> {
  const root = path.resolve(io.cwd, opts.dir ?? '.');
  const files: Array<[string, string]> = [
    ...(['development', 'staging', 'production'] as const).map((name): [string, string] => [`environments/${name}.yaml`, manifestTemplate(name, SCAFFOLD_SCHEMA_REF)]),
    ['.env.example', ENV_EXAMPLE_TEMPLATE],
  ];
  const existing = files.map(([rel]) => rel).filter((rel) => existsSync(path.join(root, rel)));
  if (existing.length > 0) {
    io.stderr(
      `${formatDiagnostics([
        diag(`refusing to overwrite ${existing.join(', ')}`, {
          code: 'init.exists',
          location: { file: existing[0]!, line: 1, col: 1 },
          fix: 'iact init only scaffolds a new project; move those files away first, or edit them by hand',
        }),
      ])}\n`,
    );
    return 1;
  }
  try {
    mkdirSync(path.join(root, 'environments'), { recursive: true });
  } catch (error) {
    throw new DiagnosticError(diag(`cannot create ${path.join(root, 'environments')}: ${(error as Error).message}`, { fix: 'check the directory permissions' }));
  }
  for (const [rel, content] of files) {
    // 'wx': fail rather than overwrite if the file appeared since the check.
    writeFileSync(path.join(root, rel), content, { flag: 'wx' });
    io.stdout(`created ${rel}\n`);
  }
  const gitignore = path.join(root, '.gitignore');
  const current = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '';
  const present = new Set(current.split('\n').map((l) => l.trim()));
  const missing = GITIGNORE_LINES.filter((line) => !present.has(line));
  if (missing.length > 0) {
    const prefix = current === '' || current.endsWith('\n') ? '' : '\n';
    writeFileSync(gitignore, `${current}${prefix}# iact: secrets and working area\n${missing.join('\n')}\n`);
    io.stdout(`${current === '' ? 'created' : 'updated'} .gitignore (${missing.join(' ')})\n`);
  }
  io.stdout('\nNext: cp .env.example .env, edit the values, then run `iact validate --all` and `iact plan`.\n');
  return 0;
}
