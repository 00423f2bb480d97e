// iact run --service S [--driver D] -- COMMAND...: a throwaway sandbox for one command.
// The sandbox is destroyed whatever happens: the command fails, is interrupted, or iact errs.
import type { ChildProcess } from 'node:child_process';
import { DiagnosticError, diag } from '../diagnostics.js';
import { CATALOG } from '../catalog/index.js';
import type { DriverName, SettingValue } from '../model/types.js';
import type { EphemeralService } from '../sandbox/connection.js';
import { startForeground } from '../sandbox/child.js';
import { createEphemeral, type EphemeralSandbox } from '../sandbox/ephemeral.js';
import type { CommandIO } from './io.js';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** --setting K=V, repeatable: the sandbox's settings (docs/commands.md "iact run"). */
function parseSettings(raw: unknown): Record<string, SettingValue> {
  const settings: Record<string, SettingValue> = {};
  for (const item of (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String)) {
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new DiagnosticError(diag(`--setting ${item} is not KEY=VALUE`, { fix: 'write it as --setting max_connections=200' }));
    settings[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return settings;
}

function parsePort(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new DiagnosticError(
      diag(`--port ${String(raw)} is not a port iact can use`, { fix: 'pass 1024..65535, or leave --port out for a free one' }),
    );
  }
  return port;
}

/** --spares and --clean-spares: the warm spares of every run root of this user (docs/data.md "Warm spares"). */
async function spares(opts: Record<string, unknown>, io: CommandIO, command: string[]): Promise<number> {
  if (command.length > 0) {
    throw new DiagnosticError(
      diag(`${opts.cleanSpares ? '--clean-spares' : '--spares'} runs no command`, { fix: 'drop the command after --, or the flag' }),
    );
  }
  const { cleanSpares, spareListing, spareRoots } = await import('../sandbox/spare-keeper.js');
  const roots = await spareRoots(io.env);
  if (opts.cleanSpares) {
    const stopped = await cleanSpares(roots, (m) => io.stderr(`iact run: ${m}\n`));
    io.stderr(`iact run: ${stopped === 0 ? 'no warm spares' : `${stopped} warm spare keeper${stopped === 1 ? '' : 's'} stopped`}\n`);
    return 0;
  }
  const { ready, making } = await spareListing(roots);
  for (const s of ready) {
    const left = Math.max(0, Math.round((Date.parse(s.expires) - Date.now()) / 1000));
    io.stdout(`${s.name}\t${s.service}\t127.0.0.1:${s.port}\texpires in ${left}s\t${s.root}\n`);
  }
  for (const m of making) io.stdout(`(being made)\t\t\tkeeper pid ${m.keeper}\t${m.root}\n`);
  if (ready.length + making.length === 0) io.stderr('iact run: no warm spares\n');
  return 0;
}

export default async function run(opts: Record<string, unknown>, io: CommandIO, args: string[]): Promise<number> {
  const command = args;
  if (opts.spares === true || opts.cleanSpares === true) return spares(opts, io, command);
  if (command.length === 0 || !command[0]) {
    throw new DiagnosticError(
      diag('iact run needs a command to run', { fix: 'put it after --, e.g. iact run --service postgres -- npm test' }),
    );
  }
  // Repeatable on the command line only so that a second one is refused instead of silently winning.
  const services = (Array.isArray(opts.service) ? opts.service : opts.service === undefined ? [] : [opts.service]).map(String);
  const from = typeof opts.from === 'string' ? opts.from : undefined;
  if (services.length === 0 && from === undefined) {
    throw new DiagnosticError(
      diag('iact run needs --service or --from', {
        fix: 'e.g. iact run --service postgres -- npm test, or iact run --from db@seeded -- npm test',
      }),
    );
  }
  if (services.length > 1) {
    throw new DiagnosticError(
      diag(`--service was given ${services.length} times (${services.join(', ')}); iact run makes one sandbox`, {
        fix: `pass --service once; for two services, nest the runs: iact run --service ${services[0]} -- iact run --service ${services[1]} -- COMMAND`,
      }),
    );
  }
  const service = services[0] as EphemeralService | undefined;
  const driver = (typeof opts.driver === 'string' ? opts.driver : 'lightweight') as DriverName;
  const settings = parseSettings(opts.setting);
  const port = parsePort(opts.port);
  const admin = opts.admin === true;
  if (admin && service !== undefined && !CATALOG[service].hasDatabase) {
    throw new DiagnosticError(diag(`--admin is for a service with users (postgres, mysql), not ${service}`, { fix: 'drop --admin' }));
  }

  let interrupted: NodeJS.Signals | undefined;
  let signals = 0;
  let child: ChildProcess | undefined;
  let sandbox: EphemeralSandbox | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    // While the command runs it decides: it gets the signal, and its exit status becomes ours
    // (an interactive psql survives Ctrl-C; a test runner dies of it and we exit 130).
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      return;
    }
    interrupted ??= signal;
    signals += 1;
    if (signals >= 3) {
      io.stderr(
        `iact run: stopping at once; ${sandbox ? `${sandbox.connection.name} is left behind and` : 'anything left behind'} will be removed by the next iact run\n`,
      );
      process.exit(SIGNAL_EXIT[signal] ?? 1);
    }
    io.stderr(`iact run: ${signal} received: removing the sandbox first (send it twice more to stop at once)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    const started = Date.now();
    try {
      sandbox = await createEphemeral(
        { service, driver, settings, admin, port, from, durable: opts.durable === true, tls: opts.tls === true },
        {
          env: io.env,
          log: (m) => io.stderr(`iact run: ${m}\n`),
          project: { cwd: io.cwd, env: typeof opts.env === 'string' ? opts.env : undefined, variables: io.env },
        },
      );
    } catch (error) {
      // A terminal's Ctrl-C reaches the driver script too; the failed create already cleaned up.
      if (interrupted) return SIGNAL_EXIT[interrupted] ?? 1;
      throw error;
    }
    const conn = sandbox.connection;
    io.stderr(
      `iact run: ${conn.service} sandbox ${conn.name}${from ? ` (from ${from})` : ''} ready on ${conn.host}:${conn.port} after ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
    );
    if (interrupted) return SIGNAL_EXIT[interrupted] ?? 1;

    const running = startForeground(command, { env: { ...io.env, ...conn.env }, cwd: io.cwd, log: io.stderr });
    child = running.child;
    // It dies with iact, even a SIGKILLed one: the sandbox's supervisor stops it.
    if (child.pid !== undefined) sandbox!.watch(child.pid);
    return await running.exit;
  } finally {
    if (sandbox) {
      const name = sandbox.connection.name;
      const destroyStarted = Date.now();
      try {
        await sandbox.destroy();
        io.stderr(`iact run: ${name} destroyed after ${((Date.now() - destroyStarted) / 1000).toFixed(1)}s\n`);
      } catch (error) {
        io.stderr(
          `warning: could not destroy ${name}: ${error instanceof Error ? error.message : String(error)}; the next iact run removes it\n`,
        );
      }
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}
