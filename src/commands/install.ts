// iact install postgres@MAJOR: another PostgreSQL major beside the system's, in the iact cache
// (src/install/). Idempotent: the newest release of the major already there changes nothing.
import { checkRuns, installPostgres, parseTarget } from '../install/postgres.js';
import type { CommandIO } from './io.js';

export default async function install(_opts: Record<string, unknown>, io: CommandIO, args: string[]): Promise<number> {
  const major = parseTarget(args[0] ?? '');
  const uid = process.getuid?.() ?? -1;
  const log = (line: string) => io.stderr(`iact install: ${line}\n`);
  const result = await installPostgres(major, { env: io.env, log, uid });
  const runs = await checkRuns(result.dir, io.env, uid);
  log(`${runs.version}${runs.asUser ? `; runs as user ${runs.asUser}` : ''}`);
  io.stdout(`PostgreSQL ${result.version} ${result.changed ? 'installed in' : 'was already in'} ${result.dir}\n`);
  return 0;
}
