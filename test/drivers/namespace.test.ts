// namespace driver: the shared lifecycle (real services in bubblewrap sandboxes behind a socat
// forwarder), plus what only this driver does: cgroup memory limits, capabilities.json, no root.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { getDriver } from '../../src/drivers/index.js';
import type { DriverContext } from '../../src/drivers/types.js';
import { lifecycleSuite, specFor, creds } from '../helpers/lifecycle.js';
import {
  client,
  freePort,
  processesMentioning,
  needs,
  repoRoot,
  TEMPLATE_DIR,
  tempRoot,
  waitFor,
  type TempRoot,
} from '../helpers/services.js';

describe('namespace driver', () => {
  it('runs as root here, with bwrap, setpriv and socat (the namespace driver needs them)', (t) => {
    needs(t, 'root', 'namespace');
    expect(process.getuid?.()).toBe(0);
  });

  lifecycleSuite('namespace');

  describe('isolation', () => {
    const driver = getDriver('namespace');
    let root: TempRoot;
    let ctx: DriverContext;
    beforeAll(() => {
      process.env.IACT_TEMPLATE_DIR = TEMPLATE_DIR;
      root = tempRoot('iact-ns-iso-');
      ctx = { root: root.dir, sandboxRoot: root.sandboxRoot, environment: 'development' };
    });
    afterAll(() => root.cleanup());

    it('puts the service in its own pid and net namespaces, under the memory limit, and describes it in capabilities.json', async (t) => {
      needs(t, 'root', 'namespace', 'redis', 'cgroup-v1-memory');
      const port = await freePort();
      const spec = specFor('namespace', 'redis', 'iso', port, { memory: '64M' });
      const dir = path.join(root.sandboxRoot, 'development', 'iso');
      let cgroup = '';
      try {
        await driver.create(ctx, spec);
        const caps = JSON.parse(readFileSync(path.join(dir, 'capabilities.json'), 'utf8'));
        expect(caps).toMatchObject({
          sandbox: 'iso',
          listen: [{ host: '127.0.0.1', port }],
          namespaces: ['pid', 'mount', 'ipc', 'uts', 'net', 'cgroup'],
          memory: { limit: '64M', limit_bytes: 64 * 1024 * 1024 },
        });
        expect(caps.write).toContain(path.join(dir, 'data'));

        cgroup = caps.memory.cgroup as string;
        // Its own, whatever another project's sandbox of the same environment and name is doing.
        expect(path.basename(cgroup)).toMatch(/^development-iso-[0-9a-f]{12}$/);
        expect(readFileSync(path.join(cgroup, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(64 * 1024 * 1024));
        const members = readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number);
        expect(members).toContain(caps.pids.init);

        // Different pid and net namespaces from ours; the service listens on no TCP port itself.
        const init = caps.pids.init as number;
        const { readlinkSync } = await import('node:fs');
        expect(readlinkSync(`/proc/${init}/ns/pid`)).not.toBe(readlinkSync('/proc/self/ns/pid'));
        expect(readlinkSync(`/proc/${init}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
        const ss = await execa('ss', ['-ltnpH'], { reject: false });
        expect(
          String(ss.stdout)
            .split('\n')
            .filter((l) => l.includes(`:${port} `))
            .every((l) => l.includes('socat')),
        ).toBe(true);

        expect((await client('redis', creds(spec), 'PING')).out).toBe('PONG');
        expect((await client('redis', { ...creds(spec), password: 'wrong' }, 'PING')).ok).toBe(false);
      } finally {
        await driver.destroy(ctx, 'iso');
      }
      expect(existsSync(dir)).toBe(false);
      expect(await waitFor(() => processesMentioning(dir).length === 0, 5000)).toBe(true);
      expect(cgroup).not.toBe('');
      expect(existsSync(cgroup)).toBe(false);
    });

    it('a process in the namespaces that exceeds the memory limit is OOM-killed by the kernel', async (t) => {
      needs(t, 'root', 'namespace', 'cgroup-v1-memory', 'python3');
      const cg = '/sys/fs/cgroup/memory/iact/test-oom';
      await execa('mkdir', ['-p', cg]);
      try {
        const limit = 32 * 1024 * 1024;
        await execa('bash', [
          '-c',
          `echo ${limit} > ${cg}/memory.limit_in_bytes; echo ${limit} > ${cg}/memory.memsw.limit_in_bytes 2>/dev/null || true`,
        ]);
        // The same launch as the driver: join the cgroup, then bwrap; 200 MB of real pages.
        const sandbox =
          'bwrap --unshare-pid --unshare-net --unshare-ipc --unshare-uts --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/bin /bin --proc /proc --dev /dev --';
        const r = await execa(
          'bash',
          ['-c', `echo $BASHPID > ${cg}/cgroup.procs; exec ${sandbox} python3 -c 'b = b"x" * (200 * 1024 * 1024); print(len(b))'`],
          { reject: false },
        );
        // bwrap exits non-zero when its child is SIGKILLed; the cgroup counts the kill.
        expect(r.exitCode).not.toBe(0);
        expect(String(r.stdout)).not.toContain('209715200');
        expect(readFileSync(`${cg}/memory.oom_control`, 'utf8')).toMatch(/oom_kill [1-9]/);
      } finally {
        await execa('rmdir', [cg], { reject: false });
      }
    });

    it('without root it fails with a clear error and the fix', async (t) => {
      needs(t, 'root', 'namespace'); // setpriv drops to nobody, which only root may do
      const r = await execa(
        'setpriv',
        [
          '--reuid=nobody',
          '--regid=nogroup',
          '--clear-groups',
          '--',
          'bash',
          path.join(repoRoot, 'bash', 'wasm_style_sandbox.sh'),
          'create',
          'x',
          'redis',
          '20000',
        ],
        {
          cwd: '/tmp',
          env: { IACT_SANDBOX_ROOT: '/tmp/iact-nonroot-never' },
          reject: false,
        },
      );
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/needs root/);
      expect(r.stderr).toMatch(/fix: /);
      expect(existsSync('/tmp/iact-nonroot-never')).toBe(false);
    });
  });
});
