// iact restore SANDBOX@SNAPSHOT: the sandbox's data becomes the snapshot's. Data-loss, so as apply
// does for a replace (README "Plan and apply"): a backup first, confirmation, protection, history.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { acquireLock, parseDuration } from '../apply/lock.js';
import { appendHistory } from '../apply/history.js';
import { backupPath } from '../apply/executor.js';
import { DiagnosticError, diag } from '../diagnostics.js';
import { parseBranchRef } from '../sandbox/branch.js';
import type { CommandIO } from './io.js';
import { driverContext, loadResolved, selectEnvironments } from './shared.js';
import { sandboxDriver, snapshotDriver } from './snapshot.js';

export default async function restore(opts: Record<string, unknown>, io: CommandIO, args: string[]): Promise<number> {
  const ref = parseBranchRef(args[0] ?? '');
  if (!ref.snapshot || args.length !== 1)
    throw new DiagnosticError(
      diag('iact restore needs SANDBOX@SNAPSHOT', {
        fix: 'e.g. iact restore db@before-migration; iact snapshot --list shows the snapshots',
      }),
    );
  const selected = selectEnvironments(opts, io);
  const environment = selected.environments[0]!;
  const ctx = driverContext(selected, environment);
  const address = `sandbox.${ref.sandbox}`;
  const resolved = await loadResolved(selected.root, environment, io.env, io.stderr);
  const spec = resolved.sandboxes[ref.sandbox];
  if ((spec?.protect || environment === 'production') && !opts.allowDestroy) {
    throw new DiagnosticError(
      diag(`${address} is protected${spec?.protect ? '' : ' (every sandbox of production is)'}: a restore replaces its data`, {
        fix: 'pass --allow-destroy if that is what you want',
      }),
    );
  }
  const { driver: driverName, service } = await sandboxDriver(ctx, ref.sandbox);
  const driver = await snapshotDriver(driverName);
  const record = (await driver.snapshots(ctx, [ref.sandbox])).find((r) => r.name === ref.snapshot);
  if (!record)
    throw new DiagnosticError(
      diag(`${ref.sandbox} has no snapshot ${ref.snapshot} in ${environment}`, {
        fix: `iact snapshot --list ${ref.sandbox} shows its snapshots`,
      }),
    );

  await mkdir(selected.paths.iact, { recursive: true, mode: 0o711 });
  const lock = await acquireLock(selected.paths.locks, environment, {
    command: 'restore',
    timeoutMs: parseDuration(typeof opts.lockTimeout === 'string' ? opts.lockTimeout : '30s', '--lock-timeout'),
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
  });
  try {
    const backupDir = path.join(selected.paths.backups, environment);
    io.stdout(
      `  # ${address} (${service}, ${driverName}) will be restored from snapshot ${ref.snapshot} (taken ${record.created})\n` +
        `  #   its data now is replaced (data-loss)${opts.backup === false ? '; no backup (--no-backup)' : `; a backup goes to ${path.relative(selected.root, backupDir)}/ first`}\n`,
    );
    if (!opts.autoApprove) {
      if (!io.prompt)
        throw new DiagnosticError(diag('restore needs confirmation, and there is no terminal to ask on', { fix: 'pass --auto-approve' }));
      const answer = (await io.prompt(`\nDo you want to restore ${ref.sandbox} in ${environment}? Only 'yes' will be accepted: `)).trim();
      if (answer !== 'yes')
        throw new DiagnosticError(
          diag('Restore cancelled: the answer was not "yes"', { fix: 'nothing was changed; run it again and type yes to proceed' }),
        );
    }
    const started = Date.now();
    let backup: string | undefined;
    if (opts.backup !== false) {
      await mkdir(backupDir, { recursive: true, mode: 0o700 });
      backup = backupPath(backupDir, ref.sandbox, service, new Date());
      await driver.backup(ctx, ref.sandbox, backup);
    }
    let outcome = 'failed';
    try {
      await driver.restore(ctx, ref.sandbox, ref.snapshot);
      outcome = 'restored';
    } finally {
      await appendHistory(selected.paths.history, environment, [
        {
          time: new Date().toISOString(),
          environment,
          command: 'restore',
          address,
          action: 'restore',
          outcome,
          duration_ms: Date.now() - started,
          pid: process.pid,
        },
      ]).catch(() => io.stderr(`warning: could not write the history of ${environment}; this restore is not recorded\n`));
    }
    io.stdout(
      `Restore complete: ${ref.sandbox} holds the data of ${ref.snapshot}${backup ? `; backup: ${path.relative(selected.root, backup)}` : ''}.\n`,
    );
    return 0;
  } finally {
    await lock.release();
  }
}
