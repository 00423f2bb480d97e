// The I/O half of environment detection: the root .env read from disk (the rule is src/manifest/detect.ts).
import { detectEnvironment, type Detected } from '../manifest/detect.js';
import { parseDotenv } from '../manifest/dotenv.js';
import { readDotenvText } from './load.js';

/** Parsed .env of the project root ({} when absent); .env.<environment> cannot name the environment. */
export function readRootDotenv(root: string): Record<string, string> {
  const text = readDotenvText(root, '.env');
  return text === undefined ? {} : parseDotenv(text);
}

export function detectEnvironmentIn(root: string, opts: { flag?: string; env: NodeJS.ProcessEnv }): Detected {
  return detectEnvironment({ flag: opts.flag, env: opts.env, dotenv: opts.flag ? {} : readRootDotenv(root) });
}
