// The I/O half of environment detection: the root .env read from disk (the rule is src/manifest/detect.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { detectEnvironment, type Detected } from '../manifest/detect.js';
import { parseDotenv } from '../manifest/dotenv.js';

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
