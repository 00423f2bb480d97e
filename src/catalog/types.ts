// The shape of one service's entry in the catalogue (docs/service-catalogue.md): plain data, no I/O.
import type { DriverName } from '../model/types.js';

/** A binary the drivers need, by its alternative names, and the Debian package that installs it. */
export interface BinaryNeed {
  names: string[];
  package: string;
}

/** What a connection variable holds (docs/service-catalogue.md, "Connection variables"). */
export type ConnectionField = 'host' | 'port' | 'database' | 'user' | 'password' | 'url' | 'sandbox';

/**
 * The service's own client, as `iact connect` runs it: `args` may name {host}, {port}, {database}
 * and {user} (never the password); the password reaches it through `env` or a 0600 defaults file.
 */
export interface ClientEntry {
  binary: BinaryNeed;
  args: string[];
  /** Variables set for the client only: variable -> what it holds (e.g. PGPASSWORD: 'password'). */
  env: Record<string, ConnectionField>;
  /** MariaDB: `--defaults-extra-file=FILE` (first argument) whose `[client]` section holds these keys. */
  defaultsFile?: Record<string, ConnectionField>;
  /** For a `tls: true` sandbox: more arguments and variables; {ca} is the sandbox's CA file. */
  tls?: { args: string[]; env: Record<string, string> };
}

export type ConfigFormat = 'postgresql' | 'ini' | 'redis' | 'ssh-args';
export type ReadinessProbe = 'pidfile-ready' | 'admin-query' | 'socket-and-pidfile';
export type BackupMethod = 'pg_dump' | 'mariadb-dump' | 'rdb' | 'tar';

export interface ServiceEntry {
  /** Manifest name (`service:`). */
  name: string;
  /** For people: "PostgreSQL". */
  label: string;
  /** False for `none`: a directory and an activate script, no server. */
  process: boolean;
  /** The version a sandbox gets when the manifest pins none; undefined when the installed one is taken. */
  defaultVersion?: string;
  /** Every binary the lightweight and namespace drivers run; the first is the server. */
  binaries: BinaryNeed[];
  /** Debian's versioned bin dirs searched before PATH, newest version first (`*` is the version). */
  binDirs?: string;
  /** Arguments that make the server print its version. */
  versionArgs: string[];
  /** The OS user the server runs as when iact runs as root (the servers refuse root). */
  osUser: string;
  /** Users the server owns; a manifest `user:` may not be one of them. */
  adminUsers: string[];
  /** Config file iact writes, relative to the sandbox directory, and its format (quoting rules). */
  config?: { file: string; format: ConfigFormat };
  /** Settings the running server picks up on reload; every other setting needs a restart. */
  reloadable: string[];
  /**
   * The settings a manifest may set ('-' and '_' folded): an allow-list, so an include directive, an
   * option prefix or `loose-` form, an ACL line or a listen address is refused by being absent
   * (docs/manifest.md "Settings"); 'any' where no server reads them (`none`).
   */
  settings: readonly string[] | 'any';
  /** Setting keys the driver owns ('-' folded to '_'): refused with "managed by iact" rather than "not allowed". */
  reserved: string[];
  /** The server's log, relative to the sandbox directory (lightweight and namespace drivers; `iact logs`). */
  logFile?: string;
  /** The interactive client of `iact connect`. */
  client?: ClientEntry;
  /** Unix socket and pidfile, relative to the sandbox directory; %PORT% is the sandbox's port. */
  socket?: string;
  pidfile?: string;
  /** Signal that stops the server quickly and cleanly. */
  stopSignal: 'INT' | 'TERM';
  /** Signal that stops the server at once when its data is thrown away (destroy): no checkpoint, no save. */
  discardSignal: 'QUIT' | 'KILL' | 'TERM';
  readiness?: ReadinessProbe;
  backup: { method: BackupMethod; ext: string };
  /** The manifest requires database and user (and the password). */
  hasDatabase: boolean;
  /** The manifest requires a password. */
  needsPassword: boolean;
  /**
   * The server reads its password from the config file iact writes (redis requirepass): a restart
   * gives it the recorded password without knowing the one it has now.
   */
  passwordInConfig?: boolean;
  /** Which connection a sandbox of this service can serve (connections.database / connections.cache). */
  serves?: 'database' | 'cache';
  /**
   * What `iact run` and bin/activate export: variable -> what it holds, in this order; `url` is
   * `urlTemplate` with each {field} URL-encoded.
   */
  connection?: {
    urlTemplate: string;
    env: Record<string, ConnectionField>;
    /** Variables the env file adds when connections.database is bound to a sandbox of this service (docs/connection-variables.md). */
    envFile?: Record<string, Exclude<ConnectionField, 'url' | 'sandbox'>>;
    /**
     * A `tls: true` sandbox (docs/connection-variables.md "TLS"): its URL, when the scheme differs
     * (rediss://), and more variables, literal but for {ca}, the sandbox's CA file.
     */
    tls?: { urlTemplate?: string; env: Record<string, string> };
  };
  /** The manifest's `extensions:` are created in the sandbox's database (CREATE EXTENSION; docs/data.md). */
  extensions?: boolean;
  /** Kinds of `init:` file the service runs, by extension (docs/data.md "Init"); `.sh` runs with the connection variables. */
  initKinds?: string[];
  /** Docker: image repository (tag = version), the port and data directory inside the container. */
  docker?: { imageRepo: string; port: number; dataPath: string };
  /** Drivers that can run this service. */
  drivers: DriverName[];
  /** Drivers that can serve it with `tls: true` (TLS only, a per-sandbox CA; docs/operators.md). */
  tlsDrivers?: DriverName[];
  /**
   * Settings of an ephemeral sandbox (`iact run`, `withSandbox`) unless --durable: its data is thrown
   * away, so it never waits for a disk (docs/data.md "Ephemeral sandboxes"); the caller's settings win.
   */
  ephemeralSettings?: Record<string, string | number | boolean>;
}
