// Pure: a resolved environment's settings as the EnvironmentConfig library object (loading it: src/io/config.ts).
import type { ApiSettings, CacheSettings, DatabaseSettings, LlmSettings, LoggingSettings, ResolvedEnvironment } from '../model/types.js';
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

const copy = <T>(value: T): T => (value === undefined ? value : (structuredClone(value) as T));

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
