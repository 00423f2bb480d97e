// Pure: the DriverSpec a sandbox is applied with, and the hashes plans compare.
import { isSensitiveKey, passwordHash, settingHash } from '../secrets/index.js';
import type { InitFile, ResolvedEnvironment, SandboxSpec, SettingValue } from '../model/types.js';
import { sha256 } from '../util/hash.js';
import type { DriverSpec, ObservedSpec } from './types.js';

/**
 * Stable JSON: keys sorted at every level, undefined dropped; `mapString` rewrites string values on the
 * way (plans scrub secrets so, without copying the tree). Hot in plans of 1000 sandboxes.
 */
export function canonicalJson(value: unknown, mapString?: (s: string) => string): string {
  if (typeof value === 'string') return JSON.stringify(mapString ? mapString(value) : value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i], mapString);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(v, mapString)}`;
    first = false;
  }
  return `${out}}`;
}

const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * The settings of sandbox NAME the manifest fills from a sensitive variable (resolved.sensitivePaths
 * `sandboxes.NAME.settings.KEY`): secrets whatever their key is called.
 */
export function sensitiveSettingKeys(resolved: Pick<ResolvedEnvironment, 'sensitivePaths'>, name: string): ReadonlySet<string> {
  const prefix = `sandboxes.${name}.settings.`;
  const keys = resolved.sensitivePaths.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
  return keys.length > 0 ? new Set(keys) : NO_KEYS;
}

/** The settings named like secrets or filled from a sensitive variable, with their values; undefined when there are none. */
function secretSettingsOf(sandbox: SandboxSpec, sensitive: ReadonlySet<string>): Record<string, SettingValue> | undefined {
  let secrets: Record<string, SettingValue> | undefined;
  for (const key in sandbox.settings) if (isSensitiveKey(key) || sensitive.has(key)) (secrets ??= {})[key] = sandbox.settings[key]!;
  return secrets;
}

/** Settings as sandbox.json keeps them: a secret value replaced by its salted hash. */
function observableSettings(environment: string, sandbox: SandboxSpec, sensitive: ReadonlySet<string>): Record<string, SettingValue> {
  const secrets = secretSettingsOf(sandbox, sensitive);
  if (!secrets) return sandbox.settings;
  const settings = { ...sandbox.settings };
  for (const key in secrets) settings[key] = settingHash(environment, sandbox.name, key, secrets[key]!);
  return settings;
}

const specHashes = new WeakMap<object, string>();

/** Hash of the machine-relevant fields of a spec (never the plaintext password); once per spec object. */
export function specHash(spec: Omit<ObservedSpec, 'spec_hash'> | ObservedSpec): string {
  let hash = specHashes.get(spec);
  if (hash === undefined) {
    const { spec_hash: _ignored, ...rest } = spec as ObservedSpec;
    hash = `sha256:${sha256(canonicalJson(rest)).slice(0, 32)}`;
    specHashes.set(spec, hash);
  }
  return hash;
}

/**
 * What sandbox.json should say for this sandbox, minus its hash (plans compare this; no hashing).
 * `sensitive`: setting keys filled from a sensitive variable (sensitiveSettingKeys), kept as hashes too.
 */
export function observableSpec(
  environment: string,
  sandbox: SandboxSpec,
  sensitive: ReadonlySet<string> = NO_KEYS,
): Omit<ObservedSpec, 'spec_hash'> {
  return {
    name: sandbox.name,
    environment,
    driver: sandbox.driver,
    service: sandbox.service,
    port: sandbox.port,
    version: sandbox.version,
    database: sandbox.database,
    user: sandbox.user,
    password_hash: sandbox.password === undefined ? undefined : passwordHash(environment, sandbox.name, sandbox.password),
    memory: sandbox.memory,
    image: sandbox.image,
    tls: sandbox.tls ? true : undefined,
    settings: observableSettings(environment, sandbox, sensitive),
    // Absent unless set, so sandboxes that use none of them keep the spec hash they were applied with.
    auth: sandbox.auth === false ? false : undefined,
    init: sandbox.initFiles && sandbox.initFiles.length > 0 ? sandbox.initFiles.map(initEntry) : undefined,
    extensions: sandbox.extensions && sandbox.extensions.length > 0 ? sandbox.extensions : undefined,
    admin: sandbox.admin ? true : undefined,
    depends_on: sandbox.depends_on,
    protect: sandbox.protect,
    ssh: sandbox.ssh,
    remote: sandbox.remote,
    checks: sandbox.checks,
    engine: sandbox.engine,
  };
}

/** An init file as sandbox.json and plans show it: "PATH sha256:HEX" (paths hold no blanks: the schema's rule). */
export function initEntry(file: InitFile): string {
  return `${file.path} ${file.hash}`;
}

export function toDriverSpec(environment: string, sandbox: SandboxSpec, sensitive: ReadonlySet<string> = NO_KEYS): DriverSpec {
  const observable = observableSpec(environment, sandbox, sensitive);
  const secrets = secretSettingsOf(sandbox, sensitive);
  return { ...observable, password: sandbox.password, spec_hash: specHash(observable), ...(secrets ? { secret_settings: secrets } : {}) };
}

/** What a driver should report for a sandbox applied with `spec` (no plaintext password). */
export function observedFromDriverSpec(spec: DriverSpec): ObservedSpec {
  const { password: _secret, secret_settings: _secrets, from: _from, ...observed } = spec;
  return observed;
}
