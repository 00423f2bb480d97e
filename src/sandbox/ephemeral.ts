// Ephemeral sandboxes (`iact run`, `withSandbox`): a unique name, a free port, a random password,
// in a private sandbox root; destroyed afterwards whatever happens. A run killed outright leaves an
// owner record whose pid is dead; the next run reaps it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { access, chmod, constants, mkdir, readdir, readFile, rename, rm, stat, statfs, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { alive } from '../apply/lock.js';
import { CATALOG } from '../catalog/index.js';
import { DiagnosticError, diag } from '../diagnostics.js';
import { DriverError, driverDiagnostic } from '../drivers/errors.js';
import { toDriverSpec } from '../drivers/spec.js';
import type { BranchSource, DriverContext, DriverWriter } from '../drivers/types.js';
import { DRIVERS, type DriverName, type SettingValue } from '../model/types.js';
import { packageDir } from '../package-dir.js';
import { redact } from '../secrets/index.js';
import type { BranchProject } from './branch.js';
import { connectionFor, EPHEMERAL_SERVICES, type EphemeralService, type SandboxConnection } from './connection.js';
import { freePort, portTaken } from './free-port.js';
import {
  claimSpare,
  launchKeeper,
  orphanSpares,
  SPARE_DRIVERS,
  shapeKey,
  spareTtlSeconds,
  spareUnderway,
  type OwnerRecord,
  type SpareShape,
} from './spares.js';

export interface EphemeralSpec {
  /** Required unless `from` is given (a branch has its source's service). */
  service?: EphemeralService;
  driver?: DriverName;
  version?: string;
  settings?: Record<string, SettingValue>;
  memory?: string;
  image?: string;
  /** The sandbox user is an administrator (docs/data.md "Admin"). */
  admin?: boolean;
  /** This port instead of a free one (`iact run --port`); taken, it is an error, not a retry. */
  port?: number;
  /**
   * Start from a sandbox's data: 'db' (its data now; the source keeps running) or 'db@snapshot', in
   * the project of `options.project`, or a resolved source (docs/data.md "Branches").
   */
  from?: string | BranchSource;
  /** Data on disk with the service's own fsync; default: tmpfs and fsync off (docs/data.md). */
  durable?: boolean;
  /** Serve TLS only, with a CA of its own; the connection asks for verified TLS (docs/operators.md "TLS sandboxes"). */
  tls?: boolean;
}

export interface EphemeralOptions {
  /** Where run sandboxes live; default $IACT_RUN_ROOT, else <tmpdir>/iact-run-<uid>. */
  root?: string;
  env?: NodeJS.ProcessEnv;
  /** Progress messages (never secrets). */
  log?: (message: string) => void;
  /** How many free ports to try when another process takes the chosen one first. */
  attempts?: number;
  /** For tests and custom drivers. */
  lookup?: (name: DriverName) => Promise<DriverWriter>;
  /** Where candidate ports come from (default: the kernel, via bind to port 0); a seam for race tests. */
  pickPort?: () => Promise<number>;
  /** The project a string `from` names a sandbox of; default: found and detected as the CLI does. */
  project?: BranchProject;
  /**
   * Take a warm spare of the same shape when one is ready, and leave one for the next call (docs/data.md
   * "Warm spares"; default true; IACT_RUN_SPARE_TTL=0 turns them off). Never with port, from, lookup or pickPort.
   */
  spare?: boolean;
}

export interface EphemeralSandbox {
  connection: SandboxConnection;
  /** Destroy the sandbox and forget it; safe to call twice. */
  destroy(): Promise<void>;
  /** A process (the user's command) that dies with this process too: its supervisor stops it. */
  watch(pid: number): void;
}

/** Sandboxes of `iact run` live in their own environment, apart from any project's. */
export const RUN_ENVIRONMENT = 'run';
const DATABASE = 'iact_run';
const USER = 'iact_run';

export function defaultRunRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IACT_RUN_ROOT) return path.resolve(env.IACT_RUN_ROOT);
  return path.join(tmpdir(), `iact-run-${process.getuid?.() ?? 'user'}`);
}

const TMPFS_MAGIC = 0x01021994;
/** Below this much free space a tmpfs is not used for run sandboxes (a container's 64 MB /dev/shm). */
const TMPFS_MIN_FREE = 512 * 1024 * 1024;
const TMPFS_DIR = '/dev/shm';

/**
 * Where run sandboxes live: IACT_RUN_ROOT; else, unless durable, a directory on the memory-backed
 * /dev/shm when it is a tmpfs with room (docs/data.md "Ephemeral sandboxes"); else the temp dir.
 */
export async function runRoot(env: NodeJS.ProcessEnv, durable: boolean): Promise<{ root: string; tmpfs: boolean }> {
  if (env.IACT_RUN_ROOT) return { root: path.resolve(env.IACT_RUN_ROOT), tmpfs: false };
  if (!durable) {
    try {
      const fs = await statfs(TMPFS_DIR);
      await access(TMPFS_DIR, constants.W_OK);
      if (fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= TMPFS_MIN_FREE) {
        return { root: path.join(TMPFS_DIR, `iact-run-${process.getuid?.() ?? 'user'}`), tmpfs: true };
      }
    } catch {
      // No /dev/shm here: the temp dir.
    }
  }
  return { root: defaultRunRoot(env), tmpfs: false };
}

function validate(spec: EphemeralSpec & { service: EphemeralService }): void {
  if (!(EPHEMERAL_SERVICES as readonly string[]).includes(spec.service)) {
    throw new DiagnosticError(
      diag(`--service ${String(spec.service)} is not a service iact can run`, { fix: `use one of: ${EPHEMERAL_SERVICES.join(', ')}` }),
    );
  }
  if (spec.driver !== undefined && !(DRIVERS as readonly string[]).includes(spec.driver)) {
    throw new DiagnosticError(diag(`--driver ${String(spec.driver)} is not a driver`, { fix: `use one of: ${DRIVERS.join(', ')}` }));
  }
}

async function defaultLookup(name: DriverName): Promise<DriverWriter> {
  const { getDriver } = await import('../drivers/index.js');
  return getDriver(name);
}

/** Destroy run sandboxes whose owning process died without cleaning up (SIGKILL, power loss). */
export async function reapOrphans(
  root: string,
  ownersDir: string,
  lookup: (name: DriverName) => Promise<DriverWriter>,
  log: (m: string) => void,
): Promise<void> {
  // Spares whose keeper died join the owners of dead runs.
  await orphanSpares(root);
  let entries: string[];
  try {
    entries = await readdir(ownersDir);
  } catch {
    return;
  }
  // A reaper that died mid-claim: give its claim back so this run can reap the sandbox.
  for (const entry of entries) {
    const m = /^(.*\.json)\.reaping-(\d+)$/.exec(entry);
    if (m && !alive(Number(m[2]))) await rename(path.join(ownersDir, entry), path.join(ownersDir, m[1]!)).catch(() => undefined);
  }
  const files = (await readdir(ownersDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
  await Promise.all(
    files.map(async (file) => {
      const full = path.join(ownersDir, file);
      let owner: OwnerRecord;
      try {
        owner = JSON.parse(await readFile(full, 'utf8')) as OwnerRecord;
      } catch {
        return;
      }
      if (owner.host !== hostname() || alive(owner.pid)) return;
      // Claim it by rename so two runs never reap the same sandbox at once.
      const claimed = `${full}.reaping-${process.pid}`;
      try {
        await rename(full, claimed);
      } catch {
        return;
      }
      const name = file.slice(0, -'.json'.length);
      try {
        const driver = await lookup(owner.driver);
        await driver.destroy(contextFor(root), name);
        await rm(path.join(root, RUN_ENVIRONMENT, name), { recursive: true, force: true });
        await unlink(claimed);
        log(`removed ${name}, left behind by run ${owner.pid} that no longer exists`);
      } catch {
        await rename(claimed, full).catch(() => undefined);
      }
    }),
  );
}

/** A shared temp dir: a run root someone else made could be theirs to read or replace. */
async function refuseForeignRoot(root: string): Promise<void> {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const owner = (await stat(root)).uid;
  if (owner !== uid) {
    throw new DiagnosticError(
      diag(`${root} belongs to uid ${owner}, not to this user (uid ${uid})`, {
        fix: 'remove it, or set IACT_RUN_ROOT to a directory of your own',
      }),
    );
  }
}

export function contextFor(root: string): DriverContext {
  return { root, sandboxRoot: root, environment: RUN_ENVIRONMENT, ephemeral: true };
}

/** The settings the driver gets: the ephemeral ones unless durable, then the caller's. */
function finalSettings(spec: EphemeralSpec & { service: EphemeralService }): Record<string, SettingValue> {
  return { ...(spec.durable ? {} : CATALOG[spec.service].ephemeralSettings), ...spec.settings };
}

/** What a warm spare must match to serve a request (docs/data.md "Warm spares"). */
export function spareShapeOf(spec: EphemeralSpec & { service: EphemeralService }, driver: DriverName): SpareShape {
  return {
    driver,
    service: spec.service,
    version: spec.version,
    settings: finalSettings(spec),
    admin: spec.admin === true && CATALOG[spec.service].hasDatabase,
    memory: spec.memory,
    image: spec.image,
    durable: spec.durable === true,
    tls: spec.tls === true,
  };
}

/** An ephemeral sandbox and what only iact's own keeper of spares needs. */
export interface KeptSandbox extends EphemeralSandbox {
  /** Tell the supervisor this process is done with the sandbox without destroying it (a claimed spare). */
  release(): Promise<void>;
}

/** Create a sandbox on a free port; retry with another port when one is taken under our feet. */
export async function createEphemeral(request: EphemeralSpec, options: EphemeralOptions = {}): Promise<EphemeralSandbox> {
  return createKept(request, options);
}

export async function createKept(request: EphemeralSpec, options: EphemeralOptions = {}): Promise<KeptSandbox> {
  const env = options.env ?? process.env;
  let from: BranchSource | undefined;
  let service = request.service;
  if (request.from !== undefined) {
    // Loaded only for a branch: it brings the manifest loader (yaml, schema), which a plain run never needs.
    const { resolveBranchSource } = await import('./branch.js');
    const branch = await resolveBranchSource(request.from, { variables: env, ...options.project });
    from = branch.source;
    if (service !== undefined && service !== branch.service) {
      throw new DiagnosticError(
        diag(`--service ${service} does not match ${from.sandbox}, a ${branch.service} sandbox`, {
          fix: `drop --service: a branch has its source's service (${branch.service})`,
        }),
      );
    }
    service = branch.service as EphemeralService;
    if (request.driver === 'docker') {
      throw new DiagnosticError(
        diag('the docker driver has no branches yet', {
          fix: 'drop --driver docker: the lightweight driver branches (docs/data.md "Branches")',
        }),
      );
    }
  }
  if (service === undefined)
    throw new DiagnosticError(
      diag('an ephemeral sandbox needs a service', { fix: 'pass --service postgres (or mysql, redis), or --from SANDBOX[@SNAPSHOT]' }),
    );
  const spec = { ...request, service };
  validate(spec);
  const root = options.root ? path.resolve(options.root) : (await runRoot(env, spec.durable === true)).root;
  const log = options.log ?? (() => undefined);
  const lookup = options.lookup ?? defaultLookup;
  const driverName: DriverName = spec.driver ?? 'lightweight';
  const ownersDir = path.join(root, 'owners');
  // Services that drop root (postgres, mariadbd) must be able to walk into the root.
  await mkdir(ownersDir, { recursive: true, mode: 0o755 });
  await refuseForeignRoot(root);
  await chmod(root, 0o755).catch(() => undefined);
  await mkdir(path.join(root, RUN_ENVIRONMENT), { recursive: true, mode: 0o755 });
  await reapOrphans(root, ownersDir, lookup, log);

  const driver = await lookup(driverName);
  const ctx = contextFor(root);
  const availability = await driver.available(ctx);
  if (!availability.available) {
    throw new DiagnosticError(
      diag(`driver ${driverName} cannot run here: ${availability.reason ?? 'unavailable'}`, {
        fix: availability.fix ?? 'run `iact doctor` to see what it needs',
      }),
    );
  }

  const ttlSeconds = spareTtlSeconds(env);
  const spareable =
    options.spare !== false &&
    ttlSeconds > 0 &&
    SPARE_DRIVERS.includes(driverName) &&
    spec.port === undefined &&
    from === undefined &&
    options.lookup === undefined &&
    options.pickPort === undefined;
  const key = spareable ? shapeKey(spareShapeOf(spec, driverName)) : '';
  let handedOut = false;

  /** The owner record, the supervisor and the one destroy() of sandbox NAME, which this process owns now. */
  const own = async (name: string) => {
    const ownerFile = path.join(ownersDir, `${name}.json`);
    const owner: OwnerRecord = { pid: process.pid, host: hostname(), driver: driverName, started: new Date().toISOString() };
    // Aside, then renamed: a claimed spare's record is replaced at once, never read half-written.
    const tmp = path.join(ownersDir, `.${name}.${process.pid}.tmp`);
    await writeFile(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
    await rename(tmp, ownerFile);
    const scriptPath = (driver as { scriptPath?: unknown }).scriptPath;
    const supervisor = superviseSandbox(
      ownerFile,
      path.join(root, RUN_ENVIRONMENT, name),
      typeof scriptPath === 'string' ? [scriptPath, name, root, RUN_ENVIRONMENT] : [],
    );
    // One destruction however many callers (a signal handler and a finally block) ask for it.
    let destroying: Promise<void> | undefined;
    const destroy = (): Promise<void> =>
      (destroying ??= (async () => {
        // A terminal's Ctrl-C also reaches the driver script; one more try usually finishes the job.
        await driver.destroy(ctx, name).catch(() => driver.destroy(ctx, name));
        // Only once the driver is done: a kept owner record lets the next run reap what is left.
        await rm(path.join(root, RUN_ENVIRONMENT, name), { recursive: true, force: true }).catch(() => undefined);
        await unlink(ownerFile).catch(() => undefined);
        await supervisor.done();
        // A spare of this shape for the next call, made in the background after this one is gone.
        if (spareable && handedOut && !(await spareUnderway(root, key).catch(() => true))) {
          launchKeeper(
            {
              root,
              ttlSeconds,
              spec: {
                service: spec.service,
                driver: driverName,
                version: spec.version,
                settings: spec.settings,
                memory: spec.memory,
                image: spec.image,
                admin: spec.admin,
                durable: spec.durable,
                tls: spec.tls,
              },
            },
            env,
          );
        }
      })());
    return { destroy, watch: (pid: number) => supervisor.watch(pid), release: () => supervisor.done() };
  };

  if (spareable) {
    const claimed = await claimSpare(root, key, RUN_ENVIRONMENT).catch(() => undefined);
    if (claimed) {
      const owned = await own(claimed.name);
      if (!claimed.broken) {
        handedOut = true;
        log(`took the warm spare ${claimed.name}`);
        return {
          connection: connectionFor({
            name: claimed.name,
            service: spec.service,
            host: '127.0.0.1',
            port: claimed.port,
            database: DATABASE,
            user: USER,
            password: claimed.password,
          }),
          ...owned,
        };
      }
      // Its server is gone: remove what is left and create one as if there had been no spare.
      await owned.destroy().catch(() => undefined);
    }
  }

  const name = `run-${randomBytes(5).toString('hex')}`;
  const password = randomBytes(16).toString('hex');
  const { destroy, watch, release } = await own(name);

  const attempts = spec.port === undefined ? Math.max(1, options.attempts ?? 5) : 1;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const port = spec.port ?? (await (options.pickPort ?? freePort)());
    const desired = toDriverSpec(RUN_ENVIRONMENT, {
      name,
      service: spec.service,
      driver: driverName,
      port,
      version: spec.version,
      database: CATALOG[spec.service].hasDatabase ? DATABASE : undefined,
      user: CATALOG[spec.service].hasDatabase ? USER : undefined,
      password,
      memory: spec.memory,
      image: spec.image,
      // Data thrown away afterwards never waits for a disk, unless asked to (--durable); the caller's settings win.
      settings: finalSettings(spec),
      depends_on: [],
      protect: false,
      ...(spec.admin && CATALOG[spec.service].hasDatabase ? { admin: true } : {}),
      ...(spec.tls ? { tls: true } : {}),
    });
    if (from) desired.from = from;
    try {
      await driver.create(ctx, desired);
      handedOut = true;
      return {
        connection: connectionFor({
          name,
          service: spec.service,
          host: '127.0.0.1',
          port,
          database: DATABASE,
          user: USER,
          password,
          ...(spec.tls ? { tlsCa: path.join(root, RUN_ENVIRONMENT, name, 'tls', 'ca.crt') } : {}),
        }),
        destroy,
        watch,
        release,
      };
    } catch (error) {
      lastError = error;
      // Half-made: remove it before trying again (or giving up).
      await driver.destroy(ctx, name).catch(() => undefined);
      const raced = (error instanceof DriverError && error.kind === 'port-in-use') || (await portTaken(port));
      if (!raced || attempt === attempts) break;
      log(`port ${port} was taken by another process before ${name} could use it; trying another`);
    }
  }
  await destroy().catch(() => undefined);
  const context = `could not create an ephemeral ${spec.service} sandbox (${driverName} driver)`;
  // The driver's own summary and fix, so error.message alone says why (library users print that).
  if (lastError instanceof DriverError) throw new DiagnosticError(driverDiagnostic(lastError, context));
  const message = redact(lastError instanceof Error ? lastError.message : String(lastError), [password]);
  throw new DiagnosticError(diag(context, { detail: message, fix: 'run `iact doctor` to check what the driver needs' }));
}

/**
 * bash/run-watchdog.sh in a session of its own, reading a pipe from this process: should this process
 * die without saying `done` (SIGKILL included), it stops the watched processes and destroys the
 * sandbox, so neither outlives iact (docs/commands.md "iact run"). DESTROY: script, name, root, environment.
 */
function superviseSandbox(ownerFile: string, dir: string, destroy: string[]): { watch(pid: number): void; done(): Promise<void> } {
  let child: ChildProcess | undefined;
  try {
    child = spawn('bash', [path.join(packageDir(), 'bash', 'run-watchdog.sh'), ownerFile, dir, ...destroy], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    // Neither the process nor its pipe keeps this one alive; the pipe closes when this one ends.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  } catch {
    child = undefined;
  }
  const send = (line: string) => {
    if (child?.stdin && !child.stdin.destroyed) child.stdin.write(`${line}\n`);
  };
  return {
    watch: (pid) => send(`pid ${pid}`),
    // Resolves once the watchdog has exited, so no process of this sandbox outlives destroy().
    done: () =>
      new Promise<void>((resolve) => {
        const watchdog = child;
        if (!watchdog || watchdog.exitCode !== null || watchdog.signalCode !== null) return resolve();
        watchdog.once('close', () => resolve());
        watchdog.ref();
        send('done');
        watchdog.stdin?.end();
      }),
  };
}

/** Sandboxes of withSandbox calls still running in this process, for the one signal handler. */
const active = new Set<EphemeralSandbox>();

// Node's default for SIGINT/SIGTERM exits without running `finally`: clean up, then let the signal act.
function onSignal(signal: NodeJS.Signals): void {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  void Promise.allSettled([...active].map((sandbox) => sandbox.destroy())).finally(() => {
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function track(sandbox: EphemeralSandbox): void {
  if (active.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  active.add(sandbox);
}

function untrack(sandbox: EphemeralSandbox): void {
  active.delete(sandbox);
  if (active.size === 0) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * The library form of `iact run`: a fresh sandbox for `fn`, destroyed when `fn` settles
 * (returns, throws, or the process is asked to stop while it runs).
 */
export async function withSandbox<T>(
  spec: EphemeralSpec,
  fn: (conn: SandboxConnection) => Promise<T>,
  options: EphemeralOptions = {},
): Promise<T> {
  const sandbox = await createEphemeral(spec, options);
  track(sandbox);
  try {
    return await fn(sandbox.connection);
  } finally {
    untrack(sandbox);
    await sandbox.destroy();
  }
}
