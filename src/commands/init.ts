// `iact init`: scaffold environments/, .env.example and .gitignore lines; creates what is missing, never overwrites a file.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, diag } from '../diagnostics.js';
import { ENV_EXAMPLE_TEMPLATE, manifestTemplate } from '../manifest/templates.js';
import type { CommandIO } from './io.js';

interface InitOptions {
  dir?: string;
}

/** Installed as a dependency, the schema sits in node_modules; editors follow this comment. */
export const SCAFFOLD_SCHEMA_REF = '../node_modules/iact/schemas/manifest.schema.json';
// node_modules/: `iact init` is often the first command of a project that then installs iact with npm.
export const GITIGNORE_LINES = ['.env', '.env.*', '!.env.example', '.iact/', 'node_modules/'];

export default async function init(opts: InitOptions, io: CommandIO): Promise<number> {
  const root = path.resolve(io.cwd, opts.dir ?? '.');
  const files: Array<[string, string]> = [
    ...(['development', 'staging', 'production'] as const).map((name): [string, string] => [
      `environments/${name}.yaml`,
      manifestTemplate(name, SCAFFOLD_SCHEMA_REF),
    ]),
    ['.env.example', ENV_EXAMPLE_TEMPLATE],
  ];
  try {
    mkdirSync(path.join(root, 'environments'), { recursive: true });
  } catch (error) {
    throw new DiagnosticError(
      diag(`cannot create ${path.join(root, 'environments')}: ${(error as Error).message}`, { fix: 'check the directory permissions' }),
    );
  }
  // Every other command says "run iact init": on a half-set-up project it must fill the gaps, not refuse.
  for (const [rel, content] of files) {
    // environments/staging.yml is that environment's manifest too: a .yaml beside it would be a second one.
    const yml = rel.replace(/\.yaml$/, '.yml');
    if (yml !== rel && existsSync(path.join(root, yml))) {
      io.stdout(`kept existing ${yml}\n`);
      continue;
    }
    try {
      // 'wx': never overwrite, even a file that appeared a moment ago.
      writeFileSync(path.join(root, rel), content, { flag: 'wx' });
      io.stdout(`created ${rel}\n`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DiagnosticError(diag(`cannot write ${rel}: ${(error as Error).message}`, { fix: 'check the directory permissions' }));
      }
      io.stdout(`kept existing ${rel}\n`);
    }
  }
  const gitignore = path.join(root, '.gitignore');
  const current = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '';
  const present = new Set(current.split('\n').map((l) => l.trim()));
  const missing = GITIGNORE_LINES.filter((line) => !present.has(line));
  if (missing.length > 0) {
    const prefix = current === '' || current.endsWith('\n') ? '' : '\n';
    writeFileSync(gitignore, `${current}${prefix}# iact: secrets, working area, installed packages\n${missing.join('\n')}\n`);
    io.stdout(`${current === '' ? 'created' : 'updated'} .gitignore (${missing.join(' ')})\n`);
  }
  io.stdout('\nNext: cp .env.example .env, edit the values, then run `iact validate --all` and `iact plan`.\n');
  return 0;
}
