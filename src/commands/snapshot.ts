// iact snapshot SANDBOX [NAME] | --list [SANDBOX] | --delete SANDBOX@NAME (docs/data.md "Snapshots").
// The drivers take, list and delete them (bash/lib/storage.sh); this module picks the driver and prints.
import { DiagnosticError, diag } from '../diagnostics.js';
import type { DriverContext, SnapshotRecord } from '../drivers/types.js';
import { DRIVERS, type DriverName } from '../model/types.js';
import { parseBranchRef, readMeta } from '../sandbox/branch.js';
import type { CommandIO } from './io.js';
import { driverContext, selectEnvironments } from './shared.js';

/** The driver of sandbox NAME on disk, which alone may stop and start it; a diagnostic when there is none. */
export async function sandboxDriver(ctx: DriverContext, name: string): Promise<{ driver: DriverName; service: string }> {
  const meta = await readMeta(ctx.sandboxRoot, ctx.environment, name);
  if (!meta || !(DRIVERS as readonly string[]).includes(meta.driver)) {
    throw new DiagnosticError(
      diag(`there is no sandbox ${name} in ${ctx.environment}`, {
        fix: `iact status --env ${ctx.environment} lists its sandboxes; iact apply creates them`,
      }),
    );
  }
  return { driver: meta.driver as DriverName, service: meta.service };
}

export async function snapshotDriver(name: DriverName) {
  const { getDriver } = await import('../drivers/index.js');
  return getDriver(name);
}

function table(records: SnapshotRecord[]): string {
  if (records.length === 0) return 'No snapshots.\n';
  const rows = [
    ['SNAPSHOT', 'SERVICE', 'STORAGE', 'CREATED'],
    ...records.map((r) => [`${r.sandbox}@${r.name}`, r.service, r.storage, r.created]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return `${rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

export default async function snapshot(opts: Record<string, unknown>, io: CommandIO, args: string[]): Promise<number> {
  const selected = selectEnvironments(opts, io);
  const environment = selected.environments[0]!;
  const ctx = driverContext(selected, environment);
  // Listing and deleting are file operations every process driver does alike (bash/lib/storage.sh).
  if (opts.list) {
    if (args.length > 1)
      throw new DiagnosticError(diag('iact snapshot --list takes at most one sandbox', { fix: 'iact snapshot --list [SANDBOX]' }));
    const records = await (await snapshotDriver('lightweight')).snapshots(
      ctx,
      args.map((a) => parseBranchRef(a).sandbox),
    );
    io.stdout(opts.json ? `${JSON.stringify(records, null, 2)}\n` : table(records));
    return 0;
  }
  if (typeof opts.delete === 'string') {
    const ref = parseBranchRef(opts.delete);
    if (!ref.snapshot || args.length > 0)
      throw new DiagnosticError(
        diag(`--delete needs SANDBOX@SNAPSHOT, got '${[opts.delete, ...args].join(' ')}'`, {
          fix: 'e.g. iact snapshot --delete db@before-migration',
        }),
      );
    await (await snapshotDriver('lightweight')).deleteSnapshot(ctx, ref.sandbox, ref.snapshot);
    io.stdout(`Snapshot ${ref.sandbox}@${ref.snapshot} deleted.\n`);
    return 0;
  }
  if (args.length === 0 || args.length > 2) {
    throw new DiagnosticError(
      diag('iact snapshot needs a sandbox', {
        fix: 'iact snapshot SANDBOX [NAME], iact snapshot --list, or iact snapshot --delete SANDBOX@NAME',
      }),
    );
  }
  const [sandbox, name] = args as [string, string | undefined];
  parseBranchRef(name === undefined ? sandbox : `${sandbox}@${name}`);
  const { driver } = await sandboxDriver(ctx, sandbox);
  const started = Date.now();
  const record = await (await snapshotDriver(driver)).snapshot(ctx, sandbox, name);
  if (opts.json) io.stdout(`${JSON.stringify(record, null, 2)}\n`);
  else {
    io.stdout(`Snapshot ${record.sandbox}@${record.name} taken in ${((Date.now() - started) / 1000).toFixed(2)}s (${record.storage}).\n`);
    io.stdout(
      `Branch it: from: ${record.sandbox}@${record.name} in a manifest, or iact run --from ${record.sandbox}@${record.name} -- COMMAND\n`,
    );
  }
  return 0;
}
