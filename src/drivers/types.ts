// The driver contract (docs/driver-protocol.md): readers observe, writers change the machine.
// The planner only ever sees a DriverReader; only apply holds a DriverWriter.

import type { DockerEngine, DriverName, ServiceKind, SettingValue, TunnelCheck, TunnelSsh } from '../model/types.js';
import type { DriverStep } from '../plan/types.js';

/** What the TypeScript side hands a driver script through `--spec FILE` (JSON, mode 0600). */
export interface DriverSpec {
  name: string;
  environment: string;
  driver: DriverName;
  service: ServiceKind;
  port: number;
  version?: string;
  database?: string;
  user?: string;
  password?: string; // plaintext secret; the script stores it apart from sandbox.json
  password_hash?: string; // salted hash, stored in sandbox.json so plans can see a password change
  memory?: string;
  image?: string;
  /** Serve TLS only (postgres, mysql, redis; every driver); absent when false, so older hashes stay. */
  tls?: boolean;
  settings: Record<string, SettingValue>;
  /** Redis without auth (`password: null`). */
  auth?: false;
  /** Init files in run order, each "PATH sha256:HEX" (docs/driver-protocol.md "Init, extensions, admin"). */
  init?: string[];
  extensions?: string[];
  admin?: boolean;
  depends_on?: string[]; // metadata: kept so a later plan knows the delete order
  protect?: boolean; // metadata: kept so a sandbox removed from the manifest stays protected
  /** service: tunnel only (docs/tunnels.md). */
  ssh?: TunnelSsh;
  remote?: { host: string; port: number };
  checks?: TunnelCheck;
  /** driver: docker (docs/remote-engines.md). */
  engine?: DockerEngine;
  spec_hash: string; // hash of every field above but password, stamped by the writer at apply time
  /**
   * Plaintext values of the settings named like secrets (masterauth, requirepass); `settings` holds
   * their salted hashes, so sandbox.json and the drivers' status never show them.
   */
  secret_settings?: Record<string, SettingValue>;
  /**
   * Create only: the new sandbox starts as a copy of this sandbox's data (docs/data.md "Branches").
   * An instruction, not state: the driver keeps it out of sandbox.json, and no hash covers it.
   */
  from?: BranchSource;
}

/** Where a branch's data comes from: a sandbox (its data now) or one of its snapshots. */
export interface BranchSource {
  sandbox: string;
  snapshot?: string;
  environment: string;
  /** Absolute sandbox root of the source's project. */
  root: string;
}

/** sandbox.json as a driver reports it: the DriverSpec without its plaintext secrets. */
export type ObservedSpec = Omit<DriverSpec, 'password' | 'secret_settings' | 'from'>;

/** One element of `<script> status --json` (schemas/driver-status.schema.json). */
export interface SandboxStatus {
  name: string;
  environment: string;
  driver: DriverName;
  service: ServiceKind;
  port: number;
  running: boolean;
  healthy: boolean;
  pid: number | null;
  spec_hash: string;
  spec: ObservedSpec | null; // null when sandbox.json is missing or unreadable, or the create never finished (drift)
  data_bytes: number;
  /**
   * False when the server runs and answers but a real login with the recorded password fails (the
   * password the plan compares by hash); absent when the driver did not check (docs/driver-protocol.md).
   */
  login?: boolean;
  /** Version of the service that made the data on disk (PostgreSQL's PG_VERSION), when the driver can tell. */
  version?: string;
  /** True when an applied sandbox's data directory is gone: drift the plan repairs with a replace. */
  data_missing?: true;
}

export interface DriverAvailability {
  available: boolean;
  reason?: string; // why not, in one line
  fix?: string; // what to do about it
}

export interface DriverContext {
  root: string; // absolute project root (scripts run with it as cwd, so they read its .env)
  sandboxRoot: string; // absolute $IACT_SANDBOX_ROOT
  environment: string;
  /** The sandboxes die with this process (iact run, withSandbox): their data may lie over the template cache (docs/data.md "Storage"). */
  ephemeral?: boolean;
  signal?: AbortSignal;
  /** Receives the `warning:` lines of a driver call that succeeded (secrets redacted). */
  onWarning?: (line: string) => void;
}

export interface DriverReader {
  readonly name: DriverName;
  available(ctx: DriverContext): Promise<DriverAvailability>;
  /** Every sandbox of this driver in ctx.environment, in one script call. */
  status(ctx: DriverContext): Promise<SandboxStatus[]>;
}

export interface UpdateOptions {
  /** The plan's driver steps (docs/driver-protocol.md, "Update steps"); empty: rewrite the files only. */
  steps: DriverStep[];
}

export interface DriverWriter extends DriverReader {
  /** Idempotent; returns once the service accepts logins. */
  create(ctx: DriverContext, spec: DriverSpec): Promise<void>;
  update(ctx: DriverContext, spec: DriverSpec, opts: UpdateOptions): Promise<void>;
  start(ctx: DriverContext, name: string): Promise<void>;
  stop(ctx: DriverContext, name: string): Promise<void>;
  /** Succeeds when the sandbox is already gone. */
  destroy(ctx: DriverContext, name: string): Promise<void>;
  /** Dump the sandbox's data to `outFile` (pg_dump, mariadb-dump, RDB copy); no-op file for `none`. */
  /** false: nothing to back up (its create never finished), and no file was written. */
  backup(ctx: DriverContext, name: string, outFile: string): Promise<void | false>;
  /**
   * Optional: throws what `create` would fail with here (binaries, version, image, a port in use)
   * and changes nothing. portIsOurs: the port belongs to the sandbox being replaced.
   */
  preflight?(ctx: DriverContext, spec: DriverSpec, opts: { portIsOurs: boolean }): Promise<void>;
  /**
   * Optional: create many `none` sandboxes (no process) in one script call, since a process per
   * sandbox dominates their cost. One result per spec, in order.
   */
  createMany?(ctx: DriverContext, specs: DriverSpec[]): Promise<BatchResult[]>;
}

/** A snapshot as `<script> snapshot` prints it and `snapshots --json` lists it (docs/data.md "Snapshots"). */
export interface SnapshotRecord {
  sandbox: string;
  environment: string;
  name: string;
  service: ServiceKind;
  driver: DriverName;
  /** The data's major version (postgres), else empty. */
  version: string;
  database: string;
  user: string;
  storage: StorageMode;
  created: string;
  dir: string;
}

/** What a new data directory is made with on this machine (docs/data.md "Storage"). */
export type StorageMode = 'overlay' | 'reflink' | 'copy';

/** Snapshots and branches (docs/driver-protocol.md "Snapshots and branches"); the docker driver refuses them. */
export interface SnapshotDriver {
  snapshot(ctx: DriverContext, name: string, snapshot?: string): Promise<SnapshotRecord>;
  snapshots(ctx: DriverContext, names?: string[]): Promise<SnapshotRecord[]>;
  deleteSnapshot(ctx: DriverContext, name: string, snapshot: string): Promise<void>;
  restore(ctx: DriverContext, name: string, snapshot: string): Promise<void>;
  storage(ctx: DriverContext): Promise<{ storage: StorageMode; reason: string; root: string }>;
}

export interface BatchResult {
  name: string;
  ok: boolean;
  message?: string;
}
