// A DriverWriter that runs one bash driver script (docs/driver-protocol.md) on node:child_process.
// Effects live here: temp spec files, child processes, schema validation of the status JSON.
import { spawn } from 'node:child_process';
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import type { DriverName } from '../model/types.js';
import { packageDir } from '../package-dir.js';
import { redact } from '../secrets/index.js';
import { DriverError, humanStderr, reportedError, type DriverErrorKind } from './errors.js';
import type {
  BatchResult,
  DriverAvailability,
  DriverContext,
  DriverSpec,
  DriverWriter,
  SandboxStatus,
  SnapshotDriver,
  SnapshotRecord,
  StorageMode,
  UpdateOptions,
} from './types.js';

export const BASH_DIR = path.join(packageDir(), 'bash');

const NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;
const ENV_RE = /^[a-z][a-z0-9_-]{0,62}$/;
const STDERR_TAIL_LINES = 20;
const DEFAULT_TIMEOUT_MS = 300_000;
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export { DriverError } from './errors.js';

let statusValidator: Promise<ValidateFunction> | undefined;

/** Precompiled by scripts/gen-status-validator.mjs: compiling with ajv cost ~85 ms per plan. */
function loadStatusValidator(): Promise<ValidateFunction> {
  statusValidator ??= import('./status-schema.generated.js').then((m) => m.default as ValidateFunction);
  return statusValidator;
}

/** Parse and validate `<script> status --json` output; throws a readable Error on anything else. */
export async function parseStatus(stdout: string): Promise<SandboxStatus[]> {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch (error) {
    throw new Error(`status output is not JSON: ${(error as Error).message}`);
  }
  const validate = await loadStatusValidator();
  if (!validate(data)) {
    const problems = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    throw new Error(`status output does not match schemas/driver-status.schema.json: ${problems.join('; ')}`);
  }
  return data as SandboxStatus[];
}

interface Outcome {
  exitCode: number | undefined;
  signal?: string;
  timedOut?: boolean;
  canceled?: boolean;
  stderr: string;
  /** Why the process could not run at all (no exit code). */
  message?: string;
}

/**
 * A failed script run as a DriverError: the script's own report (its iact-error line, or its error:
 * and fix: lines), what ran, how it ended, the tail of its stderr for people; secrets redacted.
 */
function failure(command: string, secrets: string[], outcome: Outcome): DriverError {
  const stderrTail = redact(tail(humanStderr(outcome.stderr), STDERR_TAIL_LINES), secrets);
  let head: string;
  let kind: DriverErrorKind = outcome.exitCode === 2 ? 'usage' : 'internal';
  if (outcome.timedOut) [head, kind] = [`Command timed out: ${command}`, 'timeout'];
  else if (outcome.canceled) [head, kind] = [`Command was canceled: ${command}`, 'interrupted'];
  else if (outcome.signal) [head, kind] = [`Command was killed with ${outcome.signal}: ${command}`, 'interrupted'];
  else if (outcome.exitCode === undefined) head = `Command failed: ${command}\n${redact(outcome.message ?? '', secrets)}`;
  else head = `Command failed with exit code ${outcome.exitCode}: ${command}`;
  const reported = outcome.timedOut || outcome.canceled || outcome.signal ? undefined : reportedError(outcome.stderr, outcome.exitCode);
  const scrub = (text: string) => redact(text, secrets);
  return new DriverError({
    summary: scrub(reported?.summary ?? head.split('\n')[0]!),
    detail: scrub(reported?.detail ?? ''),
    fix: scrub(reported?.fix ?? ''),
    kind: reported?.kind ?? kind,
    retryable: reported?.retryable,
    exit: outcome.exitCode,
    command,
    stderrTail,
    message: stderrTail ? `${head}\n${stderrTail}` : head,
  });
}

/** A request refused before any script ran (exit 2, nothing changed). */
const usage = (summary: string): DriverError => new DriverError({ summary, kind: 'usage', exit: 2 });

const driverTimeoutMs = (): number => Number(process.env.IACT_DRIVER_TIMEOUT_MS) || DEFAULT_TIMEOUT_MS;

function tail(text: string, lines: number): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .join('\n');
}

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw usage(`invalid sandbox name '${name}'`);
}

function checkContext(ctx: DriverContext): void {
  if (!ENV_RE.test(ctx.environment)) throw usage(`invalid environment name '${ctx.environment}'`);
  if (!path.isAbsolute(ctx.sandboxRoot)) throw usage(`sandbox root must be absolute: ${ctx.sandboxRoot}`);
}

/** What must not appear in a driver's error: the password and the secret settings' values. */
function secretsOf(spec: DriverSpec): string[] {
  return [spec.password ?? '', ...Object.values(spec.secret_settings ?? {}).map(String)];
}

function checkSpec(spec: DriverSpec): void {
  checkName(spec.name);
  if (!Number.isInteger(spec.port) || spec.port < 1024 || spec.port > 65535) throw usage(`invalid port ${spec.port} for ${spec.name}`);
}

export type AvailabilityCheck = (ctx: DriverContext, driver: BashDriver) => Promise<DriverAvailability>;

/** stdout of a verb that prints JSON; a DriverError (bad-output) when it is not. */
function parseJson<T>(stdout: string, command: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new DriverError({
      summary: `${command} printed no JSON result`,
      kind: 'bad-output',
      exit: 0,
      command,
      message: `${command} printed no JSON result`,
    });
  }
}

export class BashDriver implements DriverWriter, SnapshotDriver {
  readonly name: DriverName;
  readonly script: string; // file name inside bash/
  private readonly check: AvailabilityCheck;

  /** Present only when the script has the `create-many` verb (lightweight, namespace). */
  readonly createMany?: (ctx: DriverContext, specs: DriverSpec[]) => Promise<BatchResult[]>;

  constructor(name: DriverName, script: string, check: AvailabilityCheck, opts: { batch?: boolean } = {}) {
    this.name = name;
    this.script = script;
    this.check = check;
    if (opts.batch) this.createMany = (ctx, specs) => this.createNoneBatch(ctx, specs);
  }

  get scriptPath(): string {
    return path.join(BASH_DIR, this.script);
  }

  available(ctx: DriverContext): Promise<DriverAvailability> {
    return this.check(ctx, this);
  }

  async status(ctx: DriverContext): Promise<SandboxStatus[]> {
    checkContext(ctx);
    const { stdout, command } = await this.read(ctx, ['status', '--json']);
    try {
      return await parseStatus(stdout);
    } catch (error) {
      throw new DriverError({
        summary: (error as Error).message,
        kind: 'bad-output',
        exit: 0,
        command,
        message: `${(error as Error).message}\n  command: ${command}`,
      });
    }
  }

  async create(ctx: DriverContext, spec: DriverSpec): Promise<void> {
    checkSpec(spec);
    await this.run(ctx, ['create', spec.name, spec.service, String(spec.port), '--spec', '-'], secretsOf(spec), JSON.stringify(spec));
  }

  /** Many `none` sandboxes in one script call (`create-many`); a bad spec fails alone. */
  private async createNoneBatch(ctx: DriverContext, specs: DriverSpec[]): Promise<BatchResult[]> {
    const results = new Map<string, BatchResult>();
    const valid: DriverSpec[] = [];
    for (const spec of specs) {
      try {
        checkSpec(spec);
        if (spec.service !== 'none') throw usage(`createMany makes only none sandboxes, not ${spec.service}`);
        valid.push(spec);
      } catch (error) {
        results.set(spec.name, { name: spec.name, ok: false, message: (error as Error).message });
      }
    }
    if (valid.length > 0) {
      const { stdout } = await this.withSpecFile(valid, (file) => this.run(ctx, ['create-many', '--specs', file]));
      let reported: BatchResult[];
      try {
        reported = JSON.parse(stdout) as BatchResult[];
      } catch {
        throw new DriverError({
          summary: 'create-many printed no JSON result',
          kind: 'bad-output',
          exit: 0,
          command: `bash/${this.script} create-many`,
          message: `create-many printed no JSON result\n  command: bash/${this.script} create-many`,
        });
      }
      for (const r of reported) results.set(r.name, r);
    }
    return specs.map((s) => results.get(s.name) ?? { name: s.name, ok: false, message: 'the driver reported nothing for it' });
  }

  async update(ctx: DriverContext, spec: DriverSpec, opts: UpdateOptions): Promise<void> {
    checkSpec(spec);
    // Always the list, even empty (files only): without --steps a script assumes a caller from before steps existed.
    await this.run(ctx, ['update', spec.name, '--spec', '-', '--steps', opts.steps.join(',')], secretsOf(spec), JSON.stringify(spec));
  }

  async preflight(ctx: DriverContext, spec: DriverSpec, opts: { portIsOurs: boolean }): Promise<void> {
    checkSpec(spec);
    await this.run(
      ctx,
      ['preflight', spec.name, '--spec', '-', ...(opts.portIsOurs ? ['--port-is-ours'] : [])],
      secretsOf(spec),
      JSON.stringify(spec),
    );
  }

  async start(ctx: DriverContext, name: string): Promise<void> {
    checkName(name);
    await this.run(ctx, ['start', name]);
  }

  async stop(ctx: DriverContext, name: string): Promise<void> {
    checkName(name);
    await this.run(ctx, ['stop', name]);
  }

  async destroy(ctx: DriverContext, name: string): Promise<void> {
    checkName(name);
    await this.run(ctx, ['destroy', name, '--yes']);
  }

  async backup(ctx: DriverContext, name: string, outFile: string): Promise<void | false> {
    checkName(name);
    const out = path.resolve(ctx.root, outFile);
    await this.run(ctx, ['backup', name, '--out', out]);
    // The script writes no file for a sandbox whose create never finished (docs/driver-protocol.md "Verbs").
    return (await access(out).then(
      () => true,
      () => false,
    ))
      ? undefined
      : false;
  }

  async snapshot(ctx: DriverContext, name: string, snapshot?: string): Promise<SnapshotRecord> {
    checkName(name);
    const { stdout, command } = await this.run(ctx, ['snapshot', name, ...(snapshot ? [snapshot] : [])]);
    return parseJson<SnapshotRecord>(stdout, command);
  }

  async snapshots(ctx: DriverContext, names: string[] = []): Promise<SnapshotRecord[]> {
    names.forEach(checkName);
    const { stdout, command } = await this.run(ctx, ['snapshots', ...names, '--json']);
    return parseJson<SnapshotRecord[]>(stdout, command);
  }

  async deleteSnapshot(ctx: DriverContext, name: string, snapshot: string): Promise<void> {
    checkName(name);
    await this.run(ctx, ['snapshot-delete', name, snapshot]);
  }

  async restore(ctx: DriverContext, name: string, snapshot: string): Promise<void> {
    checkName(name);
    await this.run(ctx, ['restore', name, snapshot]);
  }

  async storage(ctx: DriverContext): Promise<{ storage: StorageMode; reason: string; root: string }> {
    const { stdout, command } = await this.run(ctx, ['storage']);
    return parseJson(stdout, command);
  }

  /**
   * Run `bash/<script> ARGS --env ENV` in the project root; throws DriverError on failure. A spec
   * with a password goes in on stdin (`--spec -`): no file holds it if this process is killed.
   */
  async run(ctx: DriverContext, args: string[], secret?: string | string[], input?: string): Promise<{ stdout: string; command: string }> {
    const { fullArgs, command, secrets } = this.invocation(ctx, args, secret);
    // Its own process group: Ctrl-C on a terminal signals iact's group, and iact lets the actions
    // already running finish (docs/commands.md "apply"); a driver killed mid-create leaves it half-made.
    const outcome = await this.spawnScript(ctx, fullArgs, { input, detached: true });
    if (outcome.exitCode === 0 && outcome.ok) {
      // What a script warns about while succeeding (a forged pidfile, a sandbox directory taken back) reaches the user.
      if (ctx.onWarning) {
        for (const line of outcome.stderr.split('\n')) if (line.startsWith('warning: ')) ctx.onWarning(redact(line, secrets));
      }
      return { stdout: outcome.stdout, command };
    }
    throw failure(command, secrets, outcome);
  }

  /** A read-only verb (status): the same process, in iact's process group. */
  private async read(ctx: DriverContext, args: string[]): Promise<{ stdout: string; command: string }> {
    const { fullArgs, command } = this.invocation(ctx, args);
    const outcome = await this.spawnScript(ctx, fullArgs, { detached: false });
    if (outcome.exitCode === 0 && outcome.ok) return { stdout: outcome.stdout, command };
    throw failure(command, [], outcome);
  }

  /**
   * The script on node:child_process: every `iact run` and plan waits for it, and execa's import and
   * set-up cost ~40 ms before the script starts. Timeout and cancel end it with SIGTERM, then SIGKILL
   * after 5 s (as execa did); output beyond MAX_OUTPUT_BYTES is a failure.
   */
  private spawnScript(
    ctx: DriverContext,
    fullArgs: string[],
    opts: { input?: string; detached: boolean },
  ): Promise<Outcome & { ok: boolean; stdout: string }> {
    return new Promise((resolve) => {
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn('bash', [this.scriptPath, ...fullArgs], {
          cwd: ctx.root,
          env: {
            ...process.env,
            IACT_SANDBOX_ROOT: ctx.sandboxRoot,
            IACT_DRIVER_ERRORS: 'json',
            IACT_DRIVER_EPHEMERAL: ctx.ephemeral ? '1' : '',
          },
          stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
          detached: opts.detached,
        });
      } catch (error) {
        resolve({ ok: false, exitCode: undefined, stdout: '', stderr: '', message: (error as Error).message });
        return;
      }
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let bytes = 0;
      let timedOut = false;
      let canceled = false;
      let overflow = false;
      let killer: NodeJS.Timeout | undefined;
      const end = (why: () => void) => {
        why();
        child.kill('SIGTERM');
        killer ??= setTimeout(() => child.kill('SIGKILL'), 5_000);
        killer.unref();
      };
      const timer = setTimeout(() => end(() => (timedOut = true)), driverTimeoutMs());
      const onAbort = () => end(() => (canceled = true));
      if (ctx.signal?.aborted) onAbort();
      else ctx.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout!.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_OUTPUT_BYTES) end(() => (overflow = true));
        else stdout.push(chunk);
      });
      child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
      if (opts.input !== undefined) {
        child.stdin!.on('error', () => undefined);
        child.stdin!.end(opts.input);
      }
      let failedToStart: Error | undefined;
      child.on('error', (error) => (failedToStart = error));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (killer) clearTimeout(killer);
        ctx.signal?.removeEventListener('abort', onAbort);
        const err = Buffer.concat(stderr).toString('utf8');
        const out = Buffer.concat(stdout).toString('utf8').replace(/\n$/, '');
        if (failedToStart && code === null) {
          resolve({ ok: false, exitCode: undefined, stdout: '', stderr: err, message: failedToStart.message });
        } else if (overflow) {
          resolve({ ok: false, exitCode: undefined, stdout: '', stderr: err, message: `more than ${MAX_OUTPUT_BYTES} bytes of output` });
        } else {
          resolve({
            ok: !timedOut && !canceled && code === 0,
            exitCode: code ?? undefined,
            signal: signal ?? undefined,
            timedOut,
            canceled,
            stdout: out,
            stderr: err,
          });
        }
      });
    });
  }

  private invocation(ctx: DriverContext, args: string[], secret?: string | string[]) {
    checkContext(ctx);
    const fullArgs = [...args, '--env', ctx.environment];
    const secrets = (Array.isArray(secret) ? secret : [secret]).filter((s): s is string => typeof s === 'string' && s !== '');
    return { fullArgs, secrets, command: redact([`bash/${this.script}`, ...fullArgs].join(' '), secrets) };
  }

  /** Specs without passwords (create-many's `none` sandboxes), in a 0700 temp dir while the script runs. */
  private async withSpecFile<T>(spec: DriverSpec | DriverSpec[], fn: (file: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(path.join(tmpdir(), 'iact-spec-'));
    try {
      const file = path.join(dir, 'spec.json');
      await writeFile(file, JSON.stringify(spec), { mode: 0o600 });
      return await fn(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** First match of BIN on PATH (plus the sbin dirs root's tools live in), or undefined. */
export async function findBinary(bin: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const dirs = [...(env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin', '/usr/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, bin);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next directory
    }
  }
  return undefined;
}
