// Issue 11, item 10: two processes that both found a dead holder's lock must not both take it over
// (src/apply/lock.ts: a takeover claims the dead lock's inode, then renames over it).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/iact-project.js';

const dir = mkdtempSync(path.join(tmpdir(), 'iact-sec-lock-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// Tries once (no waiting), says what it got, and holds the lock until its stdin closes.
const CONTENDER = `
const [lockModule, dir] = process.argv.slice(1);
const { acquireLock } = await import(lockModule);
try {
  const lock = await acquireLock(dir, 'development', { command: 'contender', timeoutMs: 0 });
  console.log('acquired');
  process.stdin.resume();
  process.stdin.on('end', () => void lock.release().then(() => process.exit(0)));
} catch (error) {
  console.log(error.diagnostics ? 'refused' : 'error ' + error.message);
  process.exit(0);
}
`;

function contender(lockModule: string, locks: string): { child: ChildProcess; said: Promise<string> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CONTENDER, lockModule, locks], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const said = new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', () => resolve(out.trim()));
  });
  return { child, said };
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('item 10: stale-lock race', () => {
  it('a process that read the dead holder before another took the lock over does not take it too', async () => {
      const lockModule = path.join(repoRoot, 'dist', 'apply', 'lock.js');
    const locks = path.join(dir, 'locks');
    mkdirSync(locks, { recursive: true });
    const file = path.join(locks, 'development.lock');
    const stale = JSON.stringify({ pid: await deadPid(), host: hostname(), command: 'iact apply', started: '2026-01-01T00:00:00Z' });

    // B's read of the lock is held open: the lock file is, for now, a FIFO this test writes the dead
    // holder into. B has read it, and has not yet acted on it, until the FIFO is closed.
    execFileSync('mkfifo', ['-m', '0600', file]);
    const b = contender(lockModule, locks);
    const fifo = await open(file, 'w'); // returns once B has opened it for reading
    await fifo.write(stale);
    // Meanwhile the dead holder's lock (a regular file now) is taken over by A, which holds it.
    writeFileSync(`${file}.aside`, stale);
    renameSync(`${file}.aside`, file);
    const a = contender(lockModule, locks);
    expect(await a.said).toBe('acquired');
    // Now B goes on with what it read: a dead holder.
    await fifo.close();
    expect(await b.said, 'the second taker of the same dead lock').toBe('refused');
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(a.child.pid);
    a.child.stdin!.end();
    await new Promise((resolve) => a.child.on('exit', resolve));
  }, 60_000);
});
