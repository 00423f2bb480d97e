// Environment detection (docs/manifest.md "Which environment"): --env > IACT_ENV > ENVIRONMENT > APP_ENV > DJANGO_ENV > development.
// For each variable the process environment wins over .env, as in bash/lib/common.sh.

/** What a manifest's environment name (its file's base name) may be. */
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

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
