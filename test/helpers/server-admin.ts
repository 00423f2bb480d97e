// The administrator's way into a lightweight sandbox's server (its unix socket, as the service's
// system user, as the drivers do), for tests that change a server behind iact's back; and process trees.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { PG_BIN } from './services.js';

const asUser = (user: string) => (process.getuid?.() === 0 ? ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--'] : []);

/** SQL as the postgres superuser over the sandbox's socket (peer authentication); stdout, trimmed. */
export async function psqlAdmin(sandboxDir: string, port: number, sql: string): Promise<string> {
  const [cmd, ...args] = [
    ...asUser('postgres'),
    path.join(PG_BIN, 'psql'),
    '-X',
    '-tA',
    '-v',
    'ON_ERROR_STOP=1',
    '-h',
    path.join(sandboxDir, 'run'),
    '-p',
    String(port),
    '-U',
    'postgres',
    '-d',
    'postgres',
  ];
  const r = await execa(cmd!, args, { input: sql, reject: false });
  if (r.exitCode !== 0) throw new Error(`psql as postgres failed: ${String(r.stderr)}`);
  return String(r.stdout).trim();
}

/** SQL as the mysql system user over the sandbox's socket (unix_socket authentication). */
export async function mysqlAdmin(sandboxDir: string, sql: string): Promise<string> {
  const [cmd, ...args] = [
    ...asUser('mysql'),
    'mariadb',
    '--no-defaults',
    `--socket=${path.join(sandboxDir, 'run', 'mysqld.sock')}`,
    '-u',
    'mysql',
    '-N',
    '-B',
  ];
  const r = await execa(cmd!, args, { input: sql, reject: false });
  if (r.exitCode !== 0) throw new Error(`mariadb as mysql failed: ${String(r.stderr)}`);
  return String(r.stdout).trim();
}

/** A redis command over the sandbox's socket, authenticated with PASSWORD (in the environment); the commands go on stdin. */
export async function redisAdmin(sandboxDir: string, password: string, commands: string): Promise<string> {
  const r = await execa('redis-cli', ['--no-auth-warning', '-s', path.join(sandboxDir, 'run', 'redis.sock')], {
    input: commands,
    env: { REDISCLI_AUTH: password },
    reject: false,
  });
  return String(r.stdout).trim();
}

/** PID and every process below it (by the parent pid in /proc/N/stat). */
export function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parentOf) if (ppid === tree[i] && !tree.includes(pid)) tree.push(pid);
  return tree;
}

/** True while PID exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** SIGKILL to PID and everything below it, at once (as a crash or the OOM killer would). */
export function killTree(pid: number): void {
  for (const p of processTree(pid)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
