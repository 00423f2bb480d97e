// The I/O half of `iact doctor`: look at this machine (PATH, versions, kernel features, docker)
// and turn what is found into CheckResults. Every probe runs in parallel and has a short timeout.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { installedExtensions } from '../io/extensions.js';
import { redisServerHasTls } from '../io/redis-tls.js';
import { CATALOG, SERVER_SERVICES, defaultImage, installHint } from '../catalog/index.js';
import type { DriverName } from '../model/types.js';
import { packageDir } from '../package-dir.js';
import { iactCacheDir, postgresMajors } from '../install/cache.js';
import { POSTGRES_MAJORS } from '../install/postgres.js';
import { versionedDirs, which, whichAny } from '../io/which.js';
import { runRoot } from '../sandbox/ephemeral.js';
import type { CheckResult } from './types.js';

export { which } from '../io/which.js';

interface Captured {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export interface ProbeEnv {
  env: NodeJS.ProcessEnv;
  /** Effective uid (0 = root); injectable for tests of the renderer logic. */
  uid: number;
}

function capture(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 3000): Promise<Captured> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      resolve({ ok: !error, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export function versionAtLeast(found: string, wanted: [number, number]): boolean {
  const m = /(\d+)\.(\d+)/.exec(found);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > wanted[0] || (major === wanted[0] && minor >= wanted[1]);
}

function firstVersion(text: string): string | null {
  return /(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1] ?? null;
}

const memo = <T>(fn: () => Promise<T>): (() => Promise<T>) => {
  let cached: Promise<T> | undefined;
  return () => (cached ??= fn());
};

/** Tools every driver script runs (daemonizing, locking, timeouts, hashing, sizes). */
const BASE_TOOLS: { bin: string; pkg: string }[] = [
  { bin: 'setsid', pkg: 'util-linux' },
  { bin: 'flock', pkg: 'util-linux' },
  { bin: 'timeout', pkg: 'coreutils' },
  { bin: 'sha256sum', pkg: 'coreutils' },
  { bin: 'du', pkg: 'coreutils' },
];

/** The images the docker driver runs by default, per server service (the catalogue's). */
const DOCKER_IMAGES: [service: string, image: string][] = SERVER_SERVICES.flatMap((s) => {
  const image = defaultImage(CATALOG[s]);
  return image ? [[s, image] as [string, string]] : [];
});

/** scripts/ of this iact checkout when it is there, else the repo-relative name. */
export function scriptPath(name: string): string {
  const candidate = path.join(packageDir(), 'scripts', name);
  return existsSync(candidate) ? candidate : `scripts/${name}`;
}

export async function probeMachine(probe: ProbeEnv): Promise<CheckResult[]> {
  const { env } = probe;
  const root = probe.uid === 0;

  const bash = memo(async (): Promise<Omit<CheckResult, 'driver'>> => {
    const need = 'bash >= 4.4';
    const fix = 'apt-get install bash (macOS: brew install bash, then put it first on PATH)';
    const file = await which('bash', env);
    if (!file) return { id: 'bash', need, state: 'missing', found: 'bash not found on PATH', fix, required: true };
    const out = await capture(file, ['-c', 'printf "%s" "$BASH_VERSION"'], env);
    const version = out.stdout.trim();
    if (!out.ok || !versionAtLeast(version, [4, 4])) {
      return { id: 'bash', need, state: 'missing', found: `${file} is version ${version || 'unknown'}`, fix, required: true };
    }
    return { id: 'bash', need, state: 'ok', found: `${version} (${file})`, required: true };
  });

  const jq = memo(async (): Promise<Omit<CheckResult, 'driver'>> => {
    const need = 'jq';
    const file = await which('jq', env);
    if (!file) return { id: 'jq', need, state: 'missing', found: 'jq not found on PATH', fix: 'apt-get install jq', required: true };
    const out = await capture(file, ['--version'], env);
    return { id: 'jq', need, state: 'ok', found: `${out.stdout.trim() || 'jq'} (${file})`, required: true };
  });

  const serviceChecks = new Map<string, () => Promise<Omit<CheckResult, 'driver'>[]>>();
  for (const service of SERVER_SERVICES) {
    const svc = CATALOG[service];
    // The binaries bash/lib/services.sh looks for, with the same install hint (both read the catalogue).
    const label = `${svc.label} (${svc.binaries.map((b) => b.names.join(' or ')).join(', ')})`;
    serviceChecks.set(
      service,
      memo(async () => {
        // Like the drivers: the catalogue's versioned bin dirs (newest first), then PATH.
        const first = await versionedDirs(svc.binDirs);
        const found = await Promise.all(svc.binaries.map((b) => whichAny(b.names, { ...env, PATH: [...first, env.PATH ?? ''].join(':') })));
        const missing = svc.binaries.filter((_, i) => !found[i]).map((b) => b.names.join(' or '));
        const results: Omit<CheckResult, 'driver'>[] = [];
        const user = serviceUser(service, svc.osUser);
        if (missing.length > 0) {
          results.push({
            id: service,
            need: label,
            state: 'missing',
            found: `not found: ${missing.join(', ')}`,
            fix: installHint(svc),
            required: false,
          });
        } else {
          const server = found[0]!;
          const out = await capture(server, svc.versionArgs, env);
          const version = firstVersion(out.stdout) ?? 'unknown version';
          results.push({ id: service, need: label, state: 'ok', found: `${version} (${path.dirname(server)})`, required: false });
        }
        results.push(await user);
        if (service === 'postgres' && missing.length === 0) results.push(await extensionsCheck());
        if (service === 'redis' && missing.length === 0) results.push(await redisTlsCheck(found[0]!));
        return results;
      }),
    );
  }

  /** postgres and mariadbd refuse to run as root: as root the driver drops every server to its system user. */
  const serviceUser = async (service: string, user: string): Promise<Omit<CheckResult, 'driver'>> => {
    const need = `run ${service} as user ${user}`;
    if (!root) return { id: `${service}-user`, need, state: 'ok', found: `not root: runs as uid ${probe.uid}`, required: false };
    const [setpriv, uid] = await Promise.all([which('setpriv', env), userId(user)]);
    const problems: string[] = [];
    if (!setpriv) problems.push('setpriv is not on PATH');
    if (uid === null) problems.push(`no system user ${user}`);
    if (problems.length > 0) {
      const fix =
        uid === null
          ? `useradd --system --no-create-home --shell /usr/sbin/nologin ${user} (installing the server package creates it)`
          : 'apt-get install util-linux';
      return { id: `${service}-user`, need, state: 'missing', found: problems.join('; '), fix, required: false };
    }
    return { id: `${service}-user`, need, state: 'ok', found: `user ${user} (uid ${uid}) via setpriv`, required: false };
  };

  /** Which PostgreSQL majors a sandbox's `version:` can name here, and where each comes from. */
  const pgMajors = memo(async (): Promise<Omit<CheckResult, 'driver'>> => {
    const majors = await postgresMajors(env, probe.uid);
    const need = 'PostgreSQL majors';
    const fix = `iact install postgres@MAJOR adds one (${POSTGRES_MAJORS.join(', ')}) to ${path.join(iactCacheDir(env, probe.uid), 'postgres')}`;
    if (majors.length === 0) return { id: 'postgres-majors', need, state: 'warning', found: 'none', fix, required: false };
    const found = majors.map((m) => `${m.major} (${m.source === 'system' ? 'system' : 'iact cache'} ${path.dirname(m.bin)})`).join(', ');
    return { id: 'postgres-majors', need, state: 'ok', found, fix, required: false };
  });

  const tools = memo(async (): Promise<Omit<CheckResult, 'driver'>> => {
    const need = BASE_TOOLS.map((t) => t.bin).join(', ');
    const found = await Promise.all(BASE_TOOLS.map((t) => which(t.bin, env)));
    const missing = BASE_TOOLS.filter((_, i) => !found[i]);
    if (missing.length === 0) return { id: 'tools', need, state: 'ok', found: 'all on PATH', required: true };
    const pkgs = [...new Set(missing.map((t) => t.pkg))];
    return {
      id: 'tools',
      need,
      state: 'missing',
      found: `not found: ${missing.map((t) => t.bin).join(', ')}`,
      fix: `apt-get install ${pkgs.join(' ')}`,
      required: true,
    };
  });

  /** What new data directories are made with here, as the drivers decide it (bash/lib/storage.sh; docs/data.md "Storage"). */
  const storage = memo(async (): Promise<Omit<CheckResult, 'driver'>> => {
    const need = 'copy-on-write data directories (overlayfs or reflinks)';
    const [out, run] = await Promise.all([
      capture('bash', [path.join(packageDir(), 'bash', 'lightweight_venv.sh'), 'storage'], env, 5000),
      runRoot(env, false),
    ]);
    const ephemeral = run.tmpfs
      ? `; iact run keeps data on tmpfs (${run.root})`
      : `; iact run keeps data in ${run.root} (no roomy tmpfs at /dev/shm)`;
    let mode: { storage?: string; reason?: string } = {};
    try {
      mode = JSON.parse(out.stdout) as typeof mode;
    } catch {
      return {
        id: 'storage',
        need,
        state: 'warning',
        found: `could not ask the driver: ${out.stderr.trim().split('\n').pop() ?? 'no output'}`,
        required: false,
      };
    }
    if (mode.storage === 'copy') {
      return {
        id: 'storage',
        need,
        state: 'warning',
        found: `copy: ${mode.reason ?? ''}${ephemeral}`,
        fix: 'run iact as root (overlayfs), or put IACT_SANDBOX_ROOT on btrfs or xfs (reflinks): a new sandbox and a snapshot then copy no data',
        required: false,
      };
    }
    return { id: 'storage', need, state: 'ok', found: `${mode.storage ?? 'unknown'}: ${mode.reason ?? ''}${ephemeral}`, required: false };
  });

  const lightweight = async (): Promise<CheckResult[]> => {
    const [b, j, t, st, majors, ...services] = await Promise.all([
      bash(),
      jq(),
      tools(),
      storage(),
      pgMajors(),
      ...SERVER_SERVICES.map((s) => serviceChecks.get(s)!()),
    ]);
    const own = [b!, j!, t!, st!, ...(services as Omit<CheckResult, 'driver'>[][]).flat(), majors as Omit<CheckResult, 'driver'>];
    return own.map((r) => ({ ...r, driver: 'lightweight' as DriverName }));
  };

  const namespace = async (): Promise<CheckResult[]> => {
    const [rootCheck, sandbox, forwarder, cgroup, shared] = await Promise.all([
      Promise.resolve<Omit<CheckResult, 'driver'>>(
        root
          ? { id: 'root', need: 'root (to create namespaces)', state: 'ok', found: 'running as root', required: true }
          : {
              id: 'root',
              need: 'root (to create namespaces)',
              state: 'missing',
              found: `running as uid ${probe.uid}`,
              fix: 'run iact as root (sudo) to use the namespace driver, or use the lightweight driver',
              required: true,
            },
      ),
      probeBwrap(env, root),
      probeForwarder(env),
      probeCgroupMemory(),
      lightweight(),
    ]);
    // The same binaries run inside the namespaces, so lightweight's checks count here too.
    const reused = shared.map((r) => ({ ...r, driver: 'namespace' as DriverName }));
    return [rootCheck, sandbox, forwarder, cgroup].map((r) => ({ ...r, driver: 'namespace' as DriverName })).concat(reused);
  };

  const docker = async (): Promise<CheckResult[]> => {
    const checks = await probeDocker(env);
    return checks.map((r) => ({ ...r, driver: 'docker' as DriverName }));
  };

  const all = await Promise.all([lightweight(), namespace(), docker()]);
  return all.flat();
}

/** What `extensions:` can ask for here (docs/data.md "Extensions"): the control files of the newest PostgreSQL. */
/** `tls: true` redis sandboxes need a redis-server built with TLS (src/io/redis-tls.ts asks as the drivers do). */
async function redisTlsCheck(server: string): Promise<Omit<CheckResult, 'driver'>> {
  const need = 'redis-server with TLS (tls: true)';
  if (await redisServerHasTls(server)) return { id: 'redis-tls', need, state: 'ok', found: `${server} is built with TLS`, required: false };
  return {
    id: 'redis-tls',
    need,
    state: 'warning',
    found: `${server} is built without TLS`,
    fix: "apt-get install -y redis-server (Debian's is built with TLS), or leave tls: off for redis sandboxes",
    required: false,
  };
}

async function extensionsCheck(): Promise<Omit<CheckResult, 'driver'>> {
  const need = 'PostgreSQL extensions (extensions:)';
  const installed = await installedExtensions();
  if (!installed || installed.names.length === 0) {
    return {
      id: 'postgres-extensions',
      need,
      state: 'warning',
      found: 'no extension control files found',
      fix: 'apt-get install -y postgresql-contrib',
      required: false,
    };
  }
  return {
    id: 'postgres-extensions',
    need,
    state: 'ok',
    found: `${installed.names.length} for PostgreSQL ${installed.version}: ${installed.names.join(', ')}`,
    required: false,
  };
}

async function userId(user: string): Promise<number | null> {
  try {
    const passwd = await readFile('/etc/passwd', 'utf8');
    const line = passwd.split('\n').find((l) => l.startsWith(`${user}:`));
    const uid = line?.split(':')[2];
    return uid === undefined ? null : Number(uid);
  } catch {
    return null;
  }
}

async function probeBwrap(env: NodeJS.ProcessEnv, root: boolean): Promise<Omit<CheckResult, 'driver'>> {
  const need = 'bwrap (the sandbox: its own file system and pid/mount/ipc/uts/net/cgroup namespaces)';
  const file = await which('bwrap', env);
  if (!file)
    return { id: 'bwrap', need, state: 'missing', found: 'bwrap not found on PATH', fix: 'apt-get install bubblewrap', required: true };
  if (!root) return { id: 'bwrap', need, state: 'ok', found: `${file} (not tried: needs root)`, required: true };
  // The driver's own shape of sandbox (bash/lib/namespace.sh), around an absolute program from /usr.
  const args = [
    '--unshare-ipc',
    '--unshare-pid',
    '--unshare-net',
    '--unshare-uts',
    '--unshare-cgroup',
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/bin',
    '/bin',
  ];
  if (existsSync('/usr/lib64')) args.push('--symlink', 'usr/lib64', '/lib64');
  const out = await capture(file, [...args, '--proc', '/proc', '--dev', '/dev', '--', '/usr/bin/true'], env);
  if (!out.ok) {
    return {
      id: 'bwrap',
      need,
      state: 'missing',
      found: `${file} cannot build a sandbox here: ${out.stderr.trim().split('\n')[0] ?? 'failed'}`,
      fix: 'run on a host (or a privileged container) that allows mount and pid/net namespaces for root',
      required: true,
    };
  }
  return { id: 'bwrap', need, state: 'ok', found: `${file} (a sandbox built and torn down)`, required: true };
}

async function probeForwarder(env: NodeJS.ProcessEnv): Promise<Omit<CheckResult, 'driver'>> {
  const need = 'socat (exposes the port on 127.0.0.1)';
  const [socat, pasta] = await Promise.all([which('socat', env), which('pasta', env)]);
  if (socat) return { id: 'forwarder', need, state: 'ok', found: `socat (${socat})`, required: true };
  return {
    id: 'forwarder',
    need,
    state: 'missing',
    found: pasta ? `only pasta (${pasta}); bash/wasm_style_sandbox.sh forwards with socat` : 'socat is not on PATH',
    fix: 'apt-get install socat',
    required: true,
  };
}

async function probeCgroupMemory(): Promise<Omit<CheckResult, 'driver'>> {
  const need = 'cgroup v1 memory controller (memory: limits)';
  const v1 = '/sys/fs/cgroup/memory';
  if (existsSync(path.join(v1, 'memory.limit_in_bytes')))
    return { id: 'cgroup-memory', need, state: 'ok', found: `cgroup v1 (${v1})`, required: false };
  for (const file of ['/sys/fs/cgroup/cgroup.controllers', '/sys/fs/cgroup/unified/cgroup.controllers']) {
    try {
      const controllers = (await readFile(file, 'utf8')).split(/\s+/);
      if (controllers.includes('memory')) {
        return {
          id: 'cgroup-memory',
          need,
          state: 'warning',
          found: `only a cgroup v2 memory controller (${path.dirname(file)}); the namespace driver limits memory through cgroup v1`,
          fix: 'mount the v1 memory controller: mkdir -p /sys/fs/cgroup/memory && mount -t cgroup -o memory cgroup /sys/fs/cgroup/memory',
          required: false,
        };
      }
    } catch {
      // not mounted here
    }
  }
  return {
    id: 'cgroup-memory',
    need,
    state: 'warning',
    found: 'no memory controller is mounted: memory: limits cannot be enforced',
    fix: 'mount the v1 memory controller: mkdir -p /sys/fs/cgroup/memory && mount -t cgroup -o memory cgroup /sys/fs/cgroup/memory',
    required: false,
  };
}

/** Where an engine may listen: $DOCKER_HOST, the system socket, the private engine of scripts/docker-engine.sh. */
function engineCandidates(env: NodeJS.ProcessEnv): string[] {
  const run = env.IACT_DOCKER_RUN ?? '/run/iact-docker';
  return [...new Set([env.DOCKER_HOST, 'unix:///var/run/docker.sock', `unix://${run}/docker.sock`].filter((h): h is string => Boolean(h)))];
}

/** The PostgreSQL majors `version:` can name on this engine: the tags of iact/postgres (one `docker image ls`). */
async function dockerPostgresMajors(cli: string, env: NodeJS.ProcessEnv): Promise<Omit<CheckResult, 'driver'>> {
  const repo = (DOCKER_IMAGES.find(([service]) => service === 'postgres')?.[1] ?? 'iact/postgres:15').replace(/:[^:/]*$/, '');
  const need = 'PostgreSQL majors with docker images';
  const fix = `iact install postgres@MAJOR, then ${scriptPath('docker-images.sh')} postgres@MAJOR (${POSTGRES_MAJORS.join(', ')})`;
  const out = await capture(cli, ['image', 'ls', repo, '--format', '{{.Tag}}'], env, 4000);
  const majors = out.ok ? [...new Set(out.stdout.split('\n').filter((tag) => /^\d+$/.test(tag)))].map(Number).sort((a, b) => b - a) : [];
  if (majors.length === 0) return { id: 'postgres-image-majors', need, state: 'warning', found: `no ${repo} image`, fix, required: false };
  return { id: 'postgres-image-majors', need, state: 'ok', found: majors.map((m) => `${repo}:${m}`).join(', '), fix, required: false };
}

async function probeDocker(env: NodeJS.ProcessEnv): Promise<Omit<CheckResult, 'driver'>[]> {
  const cliNeed = 'docker CLI';
  const engineNeed = 'a reachable Docker engine';
  const cli = await which('docker', env);
  if (!cli) {
    return [
      {
        id: 'docker-cli',
        need: cliNeed,
        state: 'missing',
        found: 'docker not found on PATH',
        fix: 'apt-get install docker.io',
        required: true,
      },
      {
        id: 'docker-engine',
        need: engineNeed,
        state: 'missing',
        found: 'not checked: no docker CLI',
        fix: `apt-get install docker.io, then ${scriptPath('docker-engine.sh')} start`,
        required: true,
      },
    ];
  }
  const candidates = engineCandidates(env);
  const [cliVersion, ...answers] = await Promise.all([
    capture(cli, ['--version'], env),
    ...candidates.map((host) => capture(cli, ['info', '--format', '{{.ServerVersion}}'], { ...env, DOCKER_HOST: host }, 4000)),
  ]);
  const version = firstVersion(cliVersion!.stdout) ?? 'unknown version';
  const results: Omit<CheckResult, 'driver'>[] = [
    { id: 'docker-cli', need: cliNeed, state: 'ok', found: `${version} (${cli})`, required: true },
  ];
  const index = answers.findIndex((a) => a.ok && a.stdout.trim() !== '');
  if (index === -1) {
    results.push({
      id: 'docker-engine',
      need: engineNeed,
      state: 'missing',
      found: `no engine answered at ${candidates.join(', ')}`,
      fix: `${scriptPath('docker-engine.sh')} start (starts a private dockerd; needs dockerd: apt-get install docker.io)`,
      required: true,
    });
    for (const [service, image] of DOCKER_IMAGES) {
      results.push({
        id: `${service}-image`,
        need: `image ${image}`,
        state: 'warning',
        found: 'not checked: no engine',
        fix: `start the engine, then ${scriptPath('docker-images.sh')} ${service}`,
        required: false,
      });
    }
    return results;
  }
  const host = candidates[index]!;
  results.push({
    id: 'docker-engine',
    need: engineNeed,
    state: 'ok',
    found: `engine ${answers[index]!.stdout.trim()} at ${host}`,
    required: true,
  });
  const images = await Promise.all(
    DOCKER_IMAGES.map(async ([service, image]) => {
      const out = await capture(cli, ['image', 'inspect', '--format', '{{.Id}}', image], { ...env, DOCKER_HOST: host }, 4000);
      return { service, image, present: out.ok };
    }),
  );
  results.push(await dockerPostgresMajors(cli, { ...env, DOCKER_HOST: host }));
  for (const { service, image, present } of images) {
    results.push(
      present
        ? { id: `${service}-image`, need: `image ${image}`, state: 'ok', found: 'present', required: false }
        : {
            id: `${service}-image`,
            need: `image ${image}`,
            state: 'missing',
            found: 'not built',
            fix: `${scriptPath('docker-images.sh')} ${service} (or set image: in the manifest)`,
            required: false,
          },
    );
  }
  return results;
}
