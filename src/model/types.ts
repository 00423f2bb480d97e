// The resolved model: a manifest after parsing, interpolation, coercion and validation.
// Plain data only; every module downstream (planner, renderers, drivers) reads these types.

import type { SourceLocation } from '../diagnostics.js';

// The services are the catalogue's (docs/service-catalogue.md).
export { SERVICES, type ServiceKind } from '../catalog/index.js';
import type { ServiceKind } from '../catalog/index.js';

export const DRIVERS = ['lightweight', 'namespace', 'docker'] as const;
export type DriverName = (typeof DRIVERS)[number];

export type SettingValue = string | number | boolean;

/**
 * The port of a sandbox whose manifest names none and that has none kept yet: as bind(2)'s port 0,
 * "any free port", chosen at the first apply and kept in sandbox.json (docs/data.md "Minimal manifests").
 */
export const PORT_CHOSEN_AT_APPLY = 0;

/** What plans and the planned env file show for a value iact chooses at apply: a port picked free, a generated password. */
export const KNOWN_AFTER_APPLY = '(known after apply)';

/** One file an `init:` entry stands for, as the project holds it now (docs/data.md "Init"). */
export interface InitFile {
  /** Relative to the project root, with '/' separators. */
  path: string;
  /** `sha256:` and 16 hex digits of its content. */
  hash: string;
}

/** One sandbox as the manifest wants it (defaults applied). */
export interface SandboxSpec {
  name: string; // ^[a-z][a-z0-9-]{0,62}$
  service: ServiceKind;
  driver: DriverName;
  port: number; // 1024..65535, or PORT_CHOSEN_AT_APPLY
  version?: string;
  database?: string;
  user?: string;
  /** Sensitive; never rendered. Omitted: generated at the first apply, then the kept one (src/manifest/kept.ts). */
  password?: string;
  /** false: `password: null`, a redis sandbox without auth on 127.0.0.1. */
  auth?: false;
  memory?: string; // e.g. 512M
  image?: string; // docker driver only
  tls?: boolean; // serve TLS only, with a per-sandbox CA (docs/operators.md, "TLS sandboxes")
  settings: Record<string, SettingValue>;
  depends_on: string[];
  protect: boolean;
  /** service: tunnel (docs/tunnels.md): the SSH server, the server reached through it, how it is checked. */
  ssh?: TunnelSsh;
  remote?: { host: string; port: number };
  checks?: TunnelCheck;
  /** driver: docker only (docs/remote-engines.md): the engine it runs on; omitted, DOCKER_HOST / DOCKER_CONTEXT. */
  engine?: DockerEngine;
  /** The manifest's `init:` entries (files or directories), as written. */
  init?: string[];
  /** What `init` stands for on disk, in run order; filled by the loader (src/io/init-files.ts). */
  initFiles?: InitFile[];
  /** PostgreSQL extensions created in the sandbox's database. */
  extensions?: string[];
  /** The sandbox user is an administrator (superuser; ALL WITH GRANT OPTION). */
  admin?: boolean;
  /** SANDBOX or SANDBOX@SNAPSHOT whose data a new sandbox starts from (docs/data.md "Branches"); create only. */
  from?: string;
}

export interface TunnelSsh {
  host: string;
  port?: number;
  user?: string;
  identityFile?: string;
  knownHosts: string;
}

/** A docker engine as the driver gets it: TLS as three files (a `dir:` expanded), paths as written. */
export interface DockerEngine {
  host?: string;
  context?: string;
  tls?: { ca: string; cert: string; key: string };
  publish?: string;
  address?: string;
}

export type TunnelCheck = 'postgres' | 'mysql' | 'redis' | 'tcp';

export interface SshTunnel {
  enabled: boolean;
  host?: string;
  port?: number;
  user?: string;
  /** The tunnel sandbox the database is reached through (docs/tunnels.md). */
  sandbox?: string;
}

/** Database settings, named as EnvironmentConfig returns them (docs/connection-variables.md). */
export interface DatabaseSettings {
  sandbox?: string;
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  ssl_mode?: string;
  ssl_ca?: string;
  use_vm: boolean; // true when bound to a sandbox
  ssh_tunnel: SshTunnel;
}

export interface CacheSettings {
  backend: 'memory' | 'redis';
  sandbox?: string;
  host?: string;
  port?: number;
  password?: string;
  /** verify-full when bound to a `tls: true` sandbox (REDIS_SSL_MODE); absent otherwise. */
  ssl_mode?: string;
  /** That sandbox's CA file (REDIS_SSL_CA), added by the loader, which knows where sandboxes live. */
  ssl_ca?: string;
  ttl: number;
}

export interface LlmSettings {
  provider: string;
  model: string;
  api_key?: string;
  base_url?: string;
  max_tokens: number;
  monthly_budget: number;
  prefer_local: boolean;
  fallback_to_heuristics: boolean;
}

export interface ApiSettings {
  base_url: string;
  timeout: number;
  verify_ssl: boolean;
  use_mock: boolean;
  api_key?: string;
}

export interface LoggingSettings {
  level: string;
  console: boolean;
  file: boolean;
  file_path?: string;
}

export interface Connections {
  database?: DatabaseSettings;
  cache?: CacheSettings;
  llm?: LlmSettings;
  api?: ApiSettings;
  logging?: LoggingSettings;
}

/**
 * A fully resolved environment. `sensitivePaths` lists dotted paths (e.g.
 * "sandboxes.dev-postgres.password", "connections.database.password") whose values are
 * secrets; `secretValues` holds those values so any output can be scrubbed as a last line
 * of defence. `locations` maps dotted paths to where the value was written.
 */
export interface ResolvedEnvironment {
  environment: string;
  file: string; // manifest path relative to the project root
  root: string; // absolute project root
  sandboxes: Record<string, SandboxSpec>;
  connections: Connections;
  features: Record<string, boolean>;
  sensitivePaths: string[];
  secretValues: string[];
  locations: Record<string, SourceLocation>;
  /** Names of the variables the manifest used, and a salted hash of each value (for fingerprints). */
  variables: Record<string, string>;
  /**
   * sha256 of the manifest's text: with `variables` it determines the desired state, and a stale
   * plan can say "the file changed" apart from "a variable changed". Absent for models built in code.
   */
  sourceHash?: string;
  /** The project's salt (.iact/salt): keys every hash a plan holds of something secret. Never rendered. */
  fingerprintKey?: string;
}
