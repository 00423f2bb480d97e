// `iact config [KEY] [--env E] [--format text|json|env|shell] [--show-sensitive]`.
import { DiagnosticError, diag, formatDiagnostics, hasErrors } from '../diagnostics.js';
import { checkEnvironmentFlags, findProjectRoot } from '../project.js';
import { detectEnvironmentIn } from '../io/detect.js';
import { duplicateManifest, invalidEnvironmentName, loadEnvironment, manifestFile, unknownEnvironment } from '../io/load.js';
import { didYouMean } from '../manifest/schema.js';
import { lookupSetting, renderConfig, type ConfigFormat } from '../config/present.js';
import { MASKED } from '../secrets/index.js';
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
  checkEnvironmentFlags(opts);
  const root = findProjectRoot(io.cwd, opts.dir);
  const detected = detectEnvironmentIn(root, { flag: opts.env, env: io.env });
  const problem = invalidEnvironmentName(root, detected.name, detected.source) ?? duplicateManifest(root, detected.name);
  if (problem) throw new DiagnosticError(problem);
  if (!manifestFile(root, detected.name)) throw new DiagnosticError(unknownEnvironment(root, detected.name, detected.source));
  const { resolved, diagnostics } = await loadEnvironment({ root, environment: detected.name, env: io.env });
  if (!resolved || hasErrors(diagnostics)) {
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
          fix: suggestion
            ? `did you mean "${suggestion}"?`
            : `use a variable name (DB_HOST) or a path (database.host); \`iact config --format env\` lists them`,
        }),
      );
    }
    io.stdout(`${found.value}\n`);
    // `PW=$(iact config DB_PASSWORD)` must not quietly capture the mask: the exit code says so.
    const clear = mask ? lookupSetting(resolved, key, false) : found;
    if (clear.found && clear.value !== found.value) {
      io.stderr(`${key} ${found.value === MASKED ? 'is sensitive' : 'holds sensitive values'}; add --show-sensitive to print it\n`);
      return 1;
    }
    return 0;
  }
  io.stdout(renderConfig(resolved, { format: opts.format ?? 'text', mask, source: detected.source }));
  return 0;
}
