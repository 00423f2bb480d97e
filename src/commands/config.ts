// `iact config [KEY] [--env E] [--format text|json|env|shell] [--show-sensitive]`.
import { DiagnosticError, diag, formatDiagnostics } from '../diagnostics.js';
import { findProjectRoot } from '../project.js';
import { detectEnvironmentIn } from '../manifest/detect.js';
import { loadEnvironment, manifestFile, unknownEnvironment } from '../manifest/load.js';
import { didYouMean } from '../manifest/schema.js';
import { lookupSetting, renderConfig, type ConfigFormat } from '../config/present.js';
import type { CommandIO } from './io.js';

interface ConfigOptions {
  env?: string;
  format?: ConfigFormat;
  showSensitive?: boolean;
  dir?: string;
}

export default async function config(opts: ConfigOptions, io: CommandIO, args: string[] = []): Promise<number> {
  try {
    return await run(opts, io, args);
  } catch (error) {
    if (error instanceof DiagnosticError) {
      io.stderr(`${formatDiagnostics(error.diagnostics)}\n`);
      return 1;
    }
    throw error;
  }
}

async function run(opts: ConfigOptions, io: CommandIO, args: string[]): Promise<number> {
  const root = findProjectRoot(io.cwd, opts.dir);
  const detected = detectEnvironmentIn(root, { flag: opts.env, env: io.env });
  if (!manifestFile(root, detected.name) && /^[a-z][a-z0-9_-]{0,62}$/.test(detected.name)) {
    throw new DiagnosticError(unknownEnvironment(root, detected.name, detected.source));
  }
  const { resolved, diagnostics } = await loadEnvironment({ root, environment: detected.name, env: io.env });
  if (!resolved) {
    io.stderr(`${formatDiagnostics(diagnostics)}\n`);
    return 1;
  }
  const mask = !opts.showSensitive;
  const key = args[0];
  if (key !== undefined) {
    const found = lookupSetting(resolved, key, mask);
    if (!found.found) {
      const suggestion = didYouMean(key, found.candidates);
      throw new DiagnosticError(
        diag(`no setting "${key}" in ${resolved.environment}`, {
          code: 'config.unknown-key',
          fix: suggestion ? `did you mean "${suggestion}"?` : `use a variable name (DB_HOST) or a path (database.host); \`iact config --format env\` lists them`,
        }),
      );
    }
    io.stdout(`${found.value}\n`);
    return 0;
  }
  io.stdout(renderConfig(resolved, { format: opts.format ?? 'text', mask, source: detected.source }));
  return 0;
}
