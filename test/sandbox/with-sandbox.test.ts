// withSandbox in a process that is told to stop: every sandbox is destroyed before the signal ends it.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, expect, it } from 'vitest';
import { describeNeeding, portOpen, repoRoot } from '../helpers/iact-project.js';
import { killProcessesIn, processesIn } from './procs.js';

// Three sandboxes at once, each callback waiting forever; the ports go to stdout.
const SCRIPT = `
import { withSandbox } from ${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))};
setInterval(() => {}, 1 << 30);
for (let i = 0; i < 3; i += 1) {
  void withSandbox({ service: 'redis' }, async (conn) => {
    process.stdout.write('port ' + conn.port + '\\n');
    await new Promise(() => {});
  }, { root: process.env.ROOT });
}
`;

describeNeeding('redis')('withSandbox and signals', { timeout: 120_000 }, () => {
  let root = '';
  afterEach(() => {
    killProcessesIn(root);
    rmSync(root, { recursive: true, force: true });
  });

  it('SIGTERM while callbacks run: all sandboxes destroyed, then the process ends by the signal', async () => {
    root = mkdtempSync(path.join(tmpdir(), 'iact-with-sandbox-'));
    const child = execa(process.execPath, ['--input-type=module', '-e', SCRIPT], { env: { ROOT: root }, reject: false, stdin: 'ignore' });
    const ports: number[] = [];
    await new Promise<void>((resolve) =>
      child.stdout!.on('data', (chunk: Buffer) => {
        for (const m of chunk.toString().matchAll(/port (\d+)/g)) ports.push(Number(m[1]));
        if (ports.length === 3) resolve();
      }),
    );
    for (const port of ports) expect(await portOpen(port)).toBe(true);
    process.kill(child.pid!, 'SIGTERM');
    const result = await child;
    expect(result.signal).toBe('SIGTERM');
    for (const port of ports) expect(await portOpen(port), `port ${port}`).toBe(false);
    expect(processesIn(root)).toEqual([]);
    const dir = path.join(root, 'run');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    expect(readdirSync(path.join(root, 'owners'))).toEqual([]);
  });
});
