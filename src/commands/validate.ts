// `iact validate [--env E | --all]`: every problem of every manifest at once, file:line:col with the fix.
import { DiagnosticError, formatDiagnostics, hasErrors, type Diagnostic } from '../diagnostics.js';
import type { ResolvedEnvironment } from '../model/types.js';
import { checkEnvironmentFlags, findProjectRoot } from '../project.js';
import { describeDetected } from '../manifest/detect.js';
import { detectEnvironmentIn } from '../io/detect.js';
import { listEnvironments, loadEnvironment, manifestFile, readEnvExample, unknownEnvironment } from '../io/load.js';
import { crossEnvironmentPortConflicts } from '../manifest/semantic.js';
import type { CommandIO } from './io.js';

interface ValidateOptions {
  env?: string;
  all?: boolean;
  dir?: string;
}

function byPosition(a: Diagnostic, b: Diagnostic): number {
  const la = a.location;
  const lb = b.location;
  if (!la || !lb) return la ? 1 : lb ? -1 : 0;
  return la.file.localeCompare(lb.file) || la.line - lb.line || la.col - lb.col;
}

export default async function validate(opts: ValidateOptions, io: CommandIO): Promise<number> {
  try {
    return await run(opts, io);
  } catch (error) {
    if (error instanceof DiagnosticError) {
      io.stderr(`${formatDiagnostics(error.diagnostics)}\n`);
      return 1;
    }
    throw error;
  }
}

async function run(opts: ValidateOptions, io: CommandIO): Promise<number> {
  checkEnvironmentFlags(opts);
  const root = findProjectRoot(io.cwd, opts.dir);
  const existing = listEnvironments(root);
  let selected: string[];
  if (opts.all) {
    if (existing.length === 0) throw new DiagnosticError(unknownEnvironment(root, 'development'));
    selected = existing;
  } else {
    const detected = detectEnvironmentIn(root, { flag: opts.env, env: io.env });
    if (!manifestFile(root, detected.name) && /^[a-z][a-z0-9_-]{0,62}$/.test(detected.name)) {
      throw new DiagnosticError(unknownEnvironment(root, detected.name, detected.source));
    }
    if (!opts.env) io.stderr(`validating ${describeDetected(detected)}\n`);
    selected = [detected.name];
  }

  // Variables unset here are checked with their .env.example values: CI has no secrets (docs/manifest.md "Validating without secrets").
  const placeholders = readEnvExample(root);
  const diagnostics: Diagnostic[] = [];
  const resolved: ResolvedEnvironment[] = [];
  const notes = new Map<string, string>();
  for (const environment of selected) {
    const result = await loadEnvironment({ root, environment, env: io.env, placeholders });
    diagnostics.push(...result.diagnostics);
    if (result.resolved) {
      resolved.push(result.resolved);
      const count = Object.keys(result.resolved.sandboxes).length;
      const note = result.placeholdersUsed?.length
        ? `; unset here, checked with .env.example values: ${result.placeholdersUsed.join(', ')}`
        : '';
      notes.set(result.resolved.file, `ok  ${result.resolved.file} (${count} sandbox${count === 1 ? '' : 'es'}${note})`);
    }
  }

  // Ports are shared by every environment on this machine: compare with the others too.
  const others: ResolvedEnvironment[] = [];
  for (const environment of existing.filter((e) => !selected.includes(e))) {
    const result = await loadEnvironment({ root, environment, env: io.env, placeholders, allowMissingVariables: true });
    if (result.resolved) others.push(result.resolved);
  }
  const selectedFiles = new Set(selected.map((e) => manifestFile(root, e)));
  diagnostics.push(...crossEnvironmentPortConflicts([...others, ...resolved]).filter((d) => selectedFiles.has(d.location?.file)));

  diagnostics.sort(byPosition);
  if (diagnostics.length > 0) io.stderr(`${formatDiagnostics(diagnostics)}\n`);
  const failed = hasErrors(diagnostics);
  const badFiles = new Set(diagnostics.filter((d) => d.severity === 'error').map((d) => d.location?.file ?? '?'));
  const okLines = [...notes].filter(([file]) => !badFiles.has(file)).map(([, line]) => line);
  if (okLines.length > 0) io.stdout(`${okLines.join('\n')}\n`);
  if (failed) {
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    const badManifests = [...badFiles].filter((file) => selectedFiles.has(file) || file === '?').length;
    const elsewhere = [...badFiles].filter((file) => !selectedFiles.has(file) && file !== '?').sort();
    const also = elsewhere.length > 0 ? ` and ${elsewhere.join(', ')}` : '';
    io.stderr(
      `\n${errors} error${errors === 1 ? '' : 's'} in ${badManifests} of ${selected.length} manifest${selected.length === 1 ? '' : 's'}${also}.\n`,
    );
    return 1;
  }
  io.stdout(`${selected.length} manifest${selected.length === 1 ? '' : 's'} valid.\n`);
  return 0;
}
