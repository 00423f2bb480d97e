// Processes that belong to a test's temp dir: those whose command line names it, and those running
// in it (redis-server's title is only "redis-server 127.0.0.1:PORT", but its cwd is the sandbox).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes('vitest')) continue;
      const cwd = readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, '');
      if (cmdline.includes(dir) || cwd === dir || cwd.startsWith(`${dir}/`)) found.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

export function killProcessesIn(dir: string): void {
  for (const pid of processesIn(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
