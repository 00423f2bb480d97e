// iact connect SANDBOX [--env E]: the service's own client (psql, mariadb, redis-cli: the
// catalogue's `client`), logged in to the live sandbox. The password reaches the client through its
// environment or a 0600 defaults file, never its argv (docs/operators.md).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ClientEntry, ConnectionField } from '../catalog/index.js';
import { DiagnosticError, diag } from '../diagnostics.js';
import { connectionOf, findSandbox } from './live-sandbox.js';
import { runForeground } from '../sandbox/child.js';
import type { SandboxConnection } from '../sandbox/connection.js';
import { versionedDirs, whichAny } from '../io/which.js';
import type { CommandIO } from './io.js';

type Values = Record<ConnectionField, string>;

function valuesOf(conn: SandboxConnection): Values {
  return {
    host: conn.host,
    port: String(conn.port),
    database: conn.database,
    user: conn.user,
    password: conn.password,
    url: conn.url,
    sandbox: conn.name,
  };
}

/** The client's argv: `args` with {field} filled in; the catalogue never puts {password} there. */
export function clientArgs(client: ClientEntry, values: Values, defaultsFile?: string): string[] {
  const args = client.args.map((a) =>
    a.replace(/\{(\w+)\}/g, (_, f: string) => (f === 'password' ? '' : (values[f as ConnectionField] ?? ''))),
  );
  return defaultsFile ? [`--defaults-extra-file=${defaultsFile}`, ...args] : args;
}

/** An option file's value, quoted so that '#', spaces and quotes survive (MariaDB "Option file syntax"). */
function optionValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export default async function connect(opts: Record<string, unknown>, io: CommandIO, args: string[]): Promise<number> {
  const name = args[0]!;
  const sandbox = await findSandbox(opts, io, name, 'connect to');
  const client = sandbox.entry.client;
  if (!client)
    throw new DiagnosticError(diag(`iact has no client for ${sandbox.entry.label}`, { fix: `use iact exec ${name} -- YOUR-CLIENT` }));
  const binary = await whichAny(client.binary.names, io.env, await versionedDirs(sandbox.entry.binDirs));
  if (!binary) {
    throw new DiagnosticError(
      diag(`${client.binary.names[0]} (the ${sandbox.entry.label} client) is not installed`, {
        fix: `apt-get install -y ${client.binary.package}, or use iact exec ${name} -- YOUR-CLIENT (it exports the connection variables)`,
      }),
    );
  }
  const conn = await connectionOf(sandbox);
  const values = valuesOf(conn);
  const env: NodeJS.ProcessEnv = { ...io.env };
  for (const [key, field] of Object.entries(client.env)) env[key] = values[field];
  // A TLS sandbox: verified against its own CA, as the env file tells applications to.
  const ca = path.join(sandbox.dir, 'tls', 'ca.crt');
  const withCa = (text: string) => text.replace(/\{ca\}/g, ca);
  const tlsArgs = sandbox.tls && client.tls ? client.tls.args.map(withCa) : [];
  if (sandbox.tls && client.tls) for (const [key, value] of Object.entries(client.tls.env)) env[key] = withCa(value);
  let tmp: string | undefined;
  try {
    let defaultsFile: string | undefined;
    if (client.defaultsFile) {
      tmp = await mkdtemp(path.join(tmpdir(), 'iact-connect-'));
      defaultsFile = path.join(tmp, 'client.cnf');
      const lines = Object.entries(client.defaultsFile).map(([key, field]) => `${key}=${optionValue(values[field])}`);
      await writeFile(defaultsFile, `[client]\n${lines.join('\n')}\n`, { mode: 0o600 });
    }
    const argv = clientArgs(client, values, defaultsFile);
    // The defaults file stays the first argument, as MariaDB requires.
    argv.splice(defaultsFile ? 1 : 0, 0, ...tlsArgs);
    return await runForeground([binary, ...argv], { env, cwd: io.cwd, log: io.stderr, keepSigint: true });
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
