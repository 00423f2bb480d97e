// The library's entry to settings (`loadEnvironmentConfig()`): find the project, detect the environment, load it.
import { DiagnosticError, hasErrors } from '../diagnostics.js';
import { makeConfig, type EnvironmentConfig } from '../config/index.js';
import { ENVIRONMENT_NAME } from '../manifest/detect.js';
import { findProjectRoot } from '../project.js';
import { detectEnvironmentIn } from './detect.js';
import { loadEnvironment, manifestFile, unknownEnvironment } from './load.js';

export interface LoadConfigOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Explicit environment (like --env); otherwise detected. */
  environment?: string;
  /** Project root; otherwise the nearest ancestor of cwd with environments/. */
  dir?: string;
}

/** Throws DiagnosticError (file:line:col, fix) when the environment is unknown or its manifest invalid. */
export async function loadEnvironmentConfig(opts: LoadConfigOptions = {}): Promise<EnvironmentConfig> {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const root = findProjectRoot(cwd, opts.dir);
  const detected = detectEnvironmentIn(root, { flag: opts.environment, env });
  if (!manifestFile(root, detected.name) && ENVIRONMENT_NAME.test(detected.name)) {
    throw new DiagnosticError(unknownEnvironment(root, detected.name, detected.source));
  }
  const { resolved, diagnostics } = await loadEnvironment({ root, environment: detected.name, env });
  if (!resolved || hasErrors(diagnostics)) throw new DiagnosticError(diagnostics);
  return makeConfig(resolved, detected.source);
}
