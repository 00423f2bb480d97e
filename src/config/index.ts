// The seed's EnvironmentConfig as a library: detect the environment, load its manifest, expose settings.
import { DiagnosticError, hasErrors } from '../diagnostics.js';
import type { ApiSettings, CacheSettings, DatabaseSettings, LlmSettings, LoggingSettings, ResolvedEnvironment } from '../model/types.js';
import { findProjectRoot } from '../project.js';
import { describeDetected, detectEnvironmentIn } from '../manifest/detect.js';
import { loadEnvironment, manifestFile, unknownEnvironment } from '../manifest/load.js';
import { configProblems } from './present.js';
import { connectionVariables } from './render.js';

export interface EnvironmentConfig {
  environment: string;
  /** Where the environment name came from, e.g. "ENVIRONMENT in .env". */
  source: string;
  isDev: boolean;
  isStaging: boolean;
  isProd: boolean;
  database(): DatabaseSettings | undefined;
  cache(): CacheSettings | undefined;
  llm(): LlmSettings | undefined;
  api(): ApiSettings | undefined;
  logging(): LoggingSettings | undefined;
  features: Readonly<Record<string, boolean>>;
  isFeatureEnabled(name: string): boolean;
  /** Production requires database host/user/password and the API URL; every environment needs its own settings complete. */
  validate(): { valid: boolean; problems: string[] };
  /** The settings as environment variables (DB_HOST, ...), secrets included: for child processes, never for logs. */
  toEnv(): Record<string, string>;
  readonly resolved: ResolvedEnvironment;
}

export interface LoadConfigOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Explicit environment (like --env); otherwise detected. */
  environment?: string;
  /** Project root; otherwise the nearest ancestor of cwd with environments/. */
  dir?: string;
}

const copy = <T>(value: T): T => (value === undefined ? value : (structuredClone(value) as T));

/** Throws DiagnosticError (file:line:col, fix) when the environment is unknown or its manifest invalid. */
export async function loadEnvironmentConfig(opts: LoadConfigOptions = {}): Promise<EnvironmentConfig> {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const root = findProjectRoot(cwd, opts.dir);
  const detected = detectEnvironmentIn(root, { flag: opts.environment, env });
  if (!manifestFile(root, detected.name) && /^[a-z][a-z0-9_-]{0,62}$/.test(detected.name)) {
    throw new DiagnosticError(unknownEnvironment(root, detected.name, detected.source));
  }
  const { resolved, diagnostics } = await loadEnvironment({ root, environment: detected.name, env });
  if (!resolved || hasErrors(diagnostics)) throw new DiagnosticError(diagnostics);
  return makeConfig(resolved, detected.source);
}

export function makeConfig(resolved: ResolvedEnvironment, source: string): EnvironmentConfig {
  const c = resolved.connections;
  const name = resolved.environment;
  return {
    environment: name,
    source,
    isDev: name === 'development',
    isStaging: name === 'staging',
    isProd: name === 'production',
    database: () => copy(c.database),
    cache: () => copy(c.cache),
    llm: () => copy(c.llm),
    api: () => copy(c.api),
    logging: () => copy(c.logging),
    features: Object.freeze({ ...resolved.features }),
    isFeatureEnabled: (feature) => resolved.features[feature] === true,
    validate: () => {
      const problems = configProblems(resolved);
      return { valid: problems.length === 0, problems };
    },
    toEnv: () => Object.fromEntries(connectionVariables(resolved).map((v) => [v.key, v.value])),
    resolved,
  };
}

export { describeDetected };
