// iact destroy: delete every sandbox of an environment (or the --target ones).
import type { CommandIO } from './io.js';
import { parseParallelism } from './apply.js';
import { converge } from './converge.js';
import { selectEnvironments, targetsOf, withInterrupts } from './shared.js';

export default async function destroy(opts: Record<string, unknown>, io: CommandIO): Promise<number> {
  const selected = selectEnvironments(opts, io);
  const environment = selected.environments[0]!;
  const result = await withInterrupts(io, (signal) =>
    converge(selected, environment, io, {
      command: 'iact destroy',
      verb: 'Destroy',
      targets: targetsOf(opts),
      autoApprove: Boolean(opts.autoApprove),
      allowDestroy: Boolean(opts.allowDestroy),
      backup: opts.backup !== false,
      parallelism: parseParallelism(opts.parallelism),
      lockTimeout: typeof opts.lockTimeout === 'string' ? opts.lockTimeout : '0s',
      json: Boolean(opts.json),
      destroy: true,
      signal,
    }),
  );
  return result.exitCode;
}
