// iact destroy: delete every sandbox of an environment (or the --target ones).
import type { CommandIO } from './io.js';
import { parseParallelism, type RunExtras } from './apply.js';
import { converge, type ConvergeResult } from './converge.js';
import { selectEnvironments, targetsOf, withInterrupts } from './shared.js';

export default async function destroy(opts: Record<string, unknown>, io: CommandIO): Promise<number> {
  const result = await withInterrupts(io, (signal) => runDestroy(opts, io, { signal }));
  return result.exitCode;
}

/** `iact destroy` from its flags to the converge result; the library calls it too. */
export async function runDestroy(opts: Record<string, unknown>, io: CommandIO, extras: RunExtras = {}): Promise<ConvergeResult> {
  const selected = selectEnvironments(opts, io);
  const environment = selected.environments[0]!;
  return converge(selected, environment, io, {
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
    ...extras,
  });
}
