// Environment detection (SPEC): --env > IACT_ENV > ENVIRONMENT > APP_ENV > DJANGO_ENV > development.
// For each variable the process environment wins over .env, as in bash/lib/common.sh.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDotenv } from './dotenv.js';

export const DETECTION_VARIABLES = ['IACT_ENV', 'ENVIRONMENT', 'APP_ENV', 'DJANGO_ENV'] as const;
export const DEFAULT_ENVIRONMENT = 'development';

export interface Detected {
  name: string;
  /** Where the name came from, e.g. "ENVIRONMENT in .env", "--env", "the default". */
  source: string;
}

export function detectEnvironment(input: { flag?: string; env: NodeJS.ProcessEnv; dotenv: Record<string, string> }): Detected {
  if (input.flag) return { name: input.flag, source: '--env' };
  for (const key of DETECTION_VARIABLES) {
    const fromProcess = input.env[key];
    if (fromProcess) return { name: fromProcess, source: `${key} in the process environment` };
    const fromFile = input.dotenv[key];
    if (fromFile) return { name: fromFile, source: `${key} in .env` };
  }
  return { name: DEFAULT_ENVIRONMENT, source: 'the default, as none of --env, IACT_ENV, ENVIRONMENT, APP_ENV, DJANGO_ENV is set' };
}

/** "staging, from ENVIRONMENT in .env" */
export function describeDetected(d: Detected): string {
  return `${d.name}, from ${d.source}`;
}

/** Parsed .env of the project root ({} when absent); .env.<environment> cannot name the environment. */
export function readRootDotenv(root: string): Record<string, string> {
  try {
    return parseDotenv(readFileSync(path.join(root, '.env'), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

export function detectEnvironmentIn(root: string, opts: { flag?: string; env: NodeJS.ProcessEnv }): Detected {
  return detectEnvironment({ flag: opts.flag, env: opts.env, dotenv: opts.flag ? {} : readRootDotenv(root) });
}
