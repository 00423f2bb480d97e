// A live sandbox as `iact logs`, `iact connect` and `iact exec` reach it: its directory under the
// sandbox root (docs/driver-protocol.md), the spec its driver recorded in sandbox.json and the
// password in secrets/password, which is what the server really has (not what the manifest says now).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { serviceEntry, type ServiceEntry } from '../catalog/index.js';
import { selectEnvironments, type Selected } from './shared.js';
import type { CommandIO } from './io.js';
import { DiagnosticError, diag } from '../diagnostics.js';
import { sandboxHost } from '../manifest/resolve.js';
import { SANDBOX_NAME } from '../manifest/semantic.js';
import { DRIVERS, type DriverName } from '../model/types.js';
import { connectionFor, type EphemeralService, type SandboxConnection } from '../sandbox/connection.js';

export interface LiveSandbox {
  name: string;
  environment: string;
  /** Absolute sandbox directory. */
  dir: string;
  driver: DriverName;
  service: EphemeralService;
  entry: ServiceEntry;
  selected: Selected;
  /** Serves TLS only (sandbox.json `tls: true`); its CA is `tls/ca.crt` in the directory. */
  tls: boolean;
}

/** Services listen on 127.0.0.1 only (README, "Drivers"), or at a remote docker engine's address (docs/remote-engines.md). */
function hostOf(engine: unknown): string {
  if (engine === null || typeof engine !== 'object') return '127.0.0.1';
  const { address, publish } = engine as { address?: unknown; publish?: unknown };
  return sandboxHost({
    engine: { address: typeof address === 'string' ? address : undefined, publish: typeof publish === 'string' ? publish : undefined },
  });
}

async function namesOnDisk(envDir: string): Promise<string[]> {
  try {
    return (await readdir(envDir)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return [];
  }
}

/** The sandbox NAME of the selected environment; a diagnostic with the fix when there is none or it runs no server. */
export async function findSandbox(opts: Record<string, unknown>, io: CommandIO, name: string, command: string): Promise<LiveSandbox> {
  const selected = selectEnvironments(opts, io);
  const environment = selected.environments[0]!;
  if (!SANDBOX_NAME.test(name)) {
    throw new DiagnosticError(
      diag(`'${name}' is not a sandbox name`, {
        fix: "sandbox names are lowercase letters, digits and '-', starting with a letter; `iact status` lists them",
      }),
    );
  }
  const envDir = path.join(selected.sandboxesFor?.(environment) ?? selected.paths.sandboxes, environment);
  const dir = path.join(envDir, name);
  let spec: { driver?: unknown; service?: unknown; tls?: unknown };
  try {
    spec = JSON.parse(await readFile(path.join(dir, 'sandbox.json'), 'utf8')) as typeof spec;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR')
      throw new DiagnosticError(
        diag(`cannot read ${path.join(dir, 'sandbox.json')}: ${(error as Error).message}`, {
          fix: `run \`iact apply --env ${environment}\` to repair the sandbox`,
        }),
      );
    const known = await namesOnDisk(envDir);
    throw new DiagnosticError(
      diag(`no sandbox '${name}' in environment ${environment}${selected.detectedFrom ? ` (${selected.detectedFrom})` : ''}`, {
        detail: known.length > 0 ? `sandboxes of ${environment}: ${known.join(', ')}` : `${environment} has no sandbox on this machine yet`,
        fix: `run \`iact apply --env ${environment}\` to create the sandboxes of the manifest, or pass --env for another environment`,
      }),
    );
  }
  const entry = typeof spec.service === 'string' ? serviceEntry(spec.service) : undefined;
  const driver = spec.driver as DriverName;
  if (!entry || !(DRIVERS as readonly string[]).includes(driver)) {
    throw new DiagnosticError(
      diag(`${path.join(dir, 'sandbox.json')} names no service or driver iact knows`, {
        fix: `run \`iact apply --env ${environment}\` to repair the sandbox`,
      }),
    );
  }
  if (!entry.process) {
    throw new DiagnosticError(
      diag(`sandbox ${name} runs no server (service ${entry.name}): there is nothing to ${command}`, {
        fix: 'pick a postgres, mysql or redis sandbox; `iact status` lists them',
      }),
    );
  }
  return { name, environment, dir, driver, service: entry.name as EphemeralService, entry, selected, tls: spec.tls === true };
}

/** Host, port, database, user and password of a live sandbox, and the variables `iact run` exports for it. */
export async function connectionOf(sandbox: LiveSandbox): Promise<SandboxConnection> {
  const spec = JSON.parse(await readFile(path.join(sandbox.dir, 'sandbox.json'), 'utf8')) as {
    port?: unknown;
    database?: unknown;
    user?: unknown;
    engine?: unknown;
  };
  let password: string;
  try {
    password = await readFile(path.join(sandbox.dir, 'secrets', 'password'), 'utf8');
  } catch (error) {
    throw new DiagnosticError(
      diag(`cannot read the password of sandbox ${sandbox.name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
        fix: `run iact as the user who applied it, or \`iact apply --env ${sandbox.environment}\` to repair it`,
      }),
    );
  }
  // The drivers default database and user to the name with '-' as '_' (bash/lib/sandbox.sh).
  const fallback = sandbox.name.replace(/-/g, '_');
  return connectionFor({
    name: sandbox.name,
    service: sandbox.service,
    host: hostOf(spec.engine),
    port: Number(spec.port),
    database: typeof spec.database === 'string' && spec.database !== '' ? spec.database : fallback,
    user: typeof spec.user === 'string' && spec.user !== '' ? spec.user : fallback,
    password,
    // Its own CA (tls/ca.crt), as the env file says (docs/connection-variables.md "TLS").
    ...(sandbox.tls ? { tlsCa: path.join(sandbox.dir, 'tls', 'ca.crt') } : {}),
  });
}
