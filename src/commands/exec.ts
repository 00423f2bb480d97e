// iact exec SANDBOX [--env E] -- CMD...: CMD with the live sandbox's connection variables, the same
// set `iact run` exports (src/sandbox/connection.ts); its exit status is iact's.
import { DiagnosticError, diag } from '../diagnostics.js';
import { connectionOf, findSandbox } from './live-sandbox.js';
import { runForeground } from '../sandbox/child.js';
import type { CommandIO } from './io.js';

export default async function exec(opts: Record<string, unknown>, io: CommandIO, args: string[]): Promise<number> {
  const [name, ...command] = args;
  if (!name || command.length === 0 || !command[0]) {
    throw new DiagnosticError(
      diag('iact exec needs a sandbox and a command', { fix: 'e.g. iact exec dev-postgres -- psql -c "select 1"' }),
    );
  }
  const sandbox = await findSandbox(opts, io, name, 'exec');
  const conn = await connectionOf(sandbox);
  return runForeground(command, { env: { ...io.env, ...conn.env }, cwd: io.cwd, log: io.stderr });
}
