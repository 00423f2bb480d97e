// Pure: manifest text + variables -> ResolvedEnvironment, or every problem as a positioned diagnostic.
import { diag, hasErrors, type Diagnostic, type SourceLocation } from '../diagnostics.js';
import type {
  ApiSettings,
  CacheSettings,
  Connections,
  DatabaseSettings,
  DockerEngine,
  DriverName,
  LlmSettings,
  LoggingSettings,
  ResolvedEnvironment,
  SandboxSpec,
  ServiceKind,
  SettingValue,
  TunnelCheck,
  TunnelSsh,
} from '../model/types.js';
import { PORT_CHOSEN_AT_APPLY } from '../model/types.js';
import { serviceEntry } from '../catalog/index.js';
import { isSensitiveVariable, SENSITIVE_FIELDS, variableHash } from '../secrets/index.js';
import { sha256 } from '../util/hash.js';
import { interpolate } from './interpolate.js';
import { applyDefaults, coerce, rootSchema, schemaChild, validateAgainstSchema, type JsonSchema } from './schema.js';
import { checkSemantics, mergedSandboxes } from './semantic.js';
import { joinPath, parseYaml, type ValueOrigin } from './yaml.js';

export interface ResolveInput {
  text: string;
  /** Manifest path relative to the project root, as diagnostics show it. */
  file: string;
  /** The environment the file is for (its base name). */
  environment: string;
  root: string;
  variables: Record<string, string | undefined>;
  /** Unset variables become the literal `${NAME}` instead of an error (diffs between revisions without secrets). */
  allowMissingVariables?: boolean;
  /** Values for variables that are unset where that would be an error (validate uses .env.example). */
  placeholders?: Record<string, string>;
  /**
   * Key of the variables' hashes (.iact/salt, read or made by the caller: src/io/load.ts). Plans and their
   * files, posted in pull requests, carry these hashes; without a key they are unkeyed (docs/manifest.md).
   */
  salt?: string;
}

export interface ResolveResult {
  resolved?: ResolvedEnvironment;
  diagnostics: Diagnostic[];
  /** Variables that took their value from `placeholders`. */
  placeholdersUsed?: string[];
}

type Segments = (string | number)[];
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export function resolveManifest(input: ResolveInput): ResolveResult {
  const { file } = input;
  const parsed = parseYaml(input.text, file);
  if (hasErrors(parsed.diagnostics)) return { diagnostics: parsed.diagnostics };
  const top = { file, line: 1, col: 1 };
  if (!isObj(parsed.data)) {
    return {
      diagnostics: [
        diag(parsed.data == null ? 'manifest is empty' : 'manifest must be a mapping of apiVersion, environment, sandboxes, ...', {
          location: top,
          code: 'schema.type',
          fix: 'start from `iact init` or the example in docs/manifest.md',
        }),
      ],
    };
  }
  // A file that shares no field with a manifest (a link to /etc/shadow, a stray file): one diagnostic
  // that quotes none of it, since its keys may be anyone's secrets (docs/manifest.md "Files").
  const known = Object.keys((rootSchema()?.properties as Record<string, unknown> | undefined) ?? {});
  if (!Object.keys(parsed.data).some((k) => known.includes(k))) {
    return {
      diagnostics: [
        diag('this is not an iact manifest: none of its top-level keys is a manifest field (its content is not shown)', {
          location: top,
          code: 'schema.type',
          fix: `a manifest starts with apiVersion: iact/v1 and environment:; start from \`iact init\` or the example in docs/manifest.md`,
        }),
      ],
    };
  }
  const origins = parsed.origins;
  const diagnostics: Diagnostic[] = [];

  const locate = (segments: readonly (string | number)[], key = false): SourceLocation => {
    for (let n = segments.length; n > 0; n--) {
      const o: ValueOrigin | undefined = origins.get(joinPath(segments.slice(0, n)));
      if (o) return (key && n === segments.length ? o.key : undefined) ?? o.value;
    }
    return top;
  };

  const listed = Array.isArray(parsed.data.sensitive) ? parsed.data.sensitive.filter((s): s is string => typeof s === 'string') : [];
  const usedBy = new Map<string, string[]>(); // dotted path -> variables in its value
  const usedVariables = new Map<string, string | undefined>();
  const placeholdersUsed = new Set<string>();
  const missingAt = new Set<string>(); // paths whose value could not be interpolated: no follow-on errors there

  // Interpolate string values only, then coerce to the schema's type.
  const lookup = (name: string) => input.variables[name];
  const transform = (value: unknown, segments: Segments, node: JsonSchema | undefined): unknown => {
    if (Array.isArray(value)) return value.map((v, i) => transform(v, [...segments, i], schemaChild(node, i)));
    if (isObj(value)) {
      const out: Obj = {};
      for (const k of Object.keys(value)) {
        const child = value[k];
        // Most values hold no `${`: they keep their value (a literal number may become a string) and need no path.
        if (typeof child === 'number') out[k] = coerce(schemaChild(node, k), child, false);
        else if (child === null || (typeof child !== 'object' && (typeof child !== 'string' || !child.includes('$')))) out[k] = child;
        else out[k] = transform(child, [...segments, k], schemaChild(node, k));
      }
      return out;
    }
    if (typeof value !== 'string' || segments[0] === 'sensitive') return coerce(node, value, false);
    const result = interpolate(value, lookup, {
      allowMissing: input.allowMissingVariables,
      fallback: (name) => input.placeholders?.[name],
      onFallback: (name) => placeholdersUsed.add(name),
    });
    if (result.variables.length > 0) usedBy.set(joinPath(segments), result.variables);
    for (const name of result.variables) usedVariables.set(name, input.variables[name]);
    // A kept `${NAME}` is not a valid host or port; the schema must not complain about it.
    if (result.kept.length > 0) missingAt.add(joinPath(segments));
    for (const problem of result.problems) {
      const at = columnOf(locate(segments), origins.get(joinPath(segments)), problem.index);
      missingAt.add(joinPath(segments));
      if (problem.kind === 'missing') {
        const name = problem.variable!;
        diagnostics.push(
          diag(`${problem.message}, used by ${joinPath(segments)}`, {
            location: at,
            code: 'interp.missing',
            fix: problem.hint ?? `set ${name} in .env or .env.${input.environment} (see .env.example), or export it`,
          }),
        );
      } else {
        diagnostics.push(diag(problem.message, { location: at, code: 'interp.syntax', fix: 'write $$ for a literal $' }));
      }
    }
    return coerce(node, result.value, result.substituted);
  };
  const data = transform(parsed.data, [], rootSchema()) as Obj;

  const sensitiveVar = (name: string) => isSensitiveVariable(name, listed);
  // Dotted paths: this runs for every value of the manifest.
  const isSensitiveDotted = (path: string): boolean =>
    SENSITIVE_FIELDS.has(path.slice(path.lastIndexOf('.') + 1)) || (usedBy.get(path)?.some(sensitiveVar) ?? false);
  const isSensitivePath = (segments: readonly (string | number)[]): boolean => isSensitiveDotted(joinPath(segments));

  diagnostics.push(
    ...validateAgainstSchema(data, { file, locate, isSensitive: isSensitivePath, skip: (segments) => missingAt.has(joinPath(segments)) }),
  );
  diagnostics.push(...checkSemantics(data, { environment: input.environment, fileEnvironment: input.environment, file, locate }));
  if (hasErrors(diagnostics)) return { diagnostics, placeholdersUsed: [...placeholdersUsed].sort() };

  const withDefaults = applyDefaults(data) as Obj;
  const sandboxes: Record<string, SandboxSpec> = {};
  for (const [name, raw] of Object.entries(mergedSandboxes(withDefaults))) sandboxes[name] = toSandbox(name, raw);

  // Paths in the resolved model (snake_case, name -> database) that hold secrets.
  const sensitivePaths = new Set<string>();
  for (const path of origins.keys()) if (isSensitiveDotted(path)) sensitivePaths.add(modelPath(path));
  for (const [path] of usedBy) if (isSensitiveDotted(path)) sensitivePaths.add(modelPath(path));
  // Sandbox fields inherited from `defaults:` carry the defaults' sensitivity and location.
  const inheritable = isObj(data.defaults) ? Object.keys(data.defaults).filter((field) => origins.has(`defaults.${field}`)) : [];
  const inherited: [own: string, from: string][] = [];
  for (const [name, sb] of Object.entries(sandboxes)) {
    for (const field of inheritable) {
      const own = `sandboxes.${name}.${field}`;
      if (!(field in sb) || origins.has(own)) continue;
      inherited.push([own, `defaults.${field}`]);
      if (sensitivePaths.has(`defaults.${field}`)) sensitivePaths.add(own);
    }
    for (const field of SENSITIVE_FIELDS) {
      if (sb[field as keyof SandboxSpec] !== undefined) sensitivePaths.add(`sandboxes.${name}.${field}`);
    }
  }

  const derived: [from: string, to: string][] = [];
  const connections = toConnections(isObj(withDefaults.connections) ? withDefaults.connections : {}, sandboxes, (from, to) => {
    if (sensitivePaths.has(from)) sensitivePaths.add(to);
    derived.push([from, to]);
  });
  // Where each value was written, in manifest and model paths: only later diagnostics read it.
  const mapLocations = (): Record<string, SourceLocation> => {
    const locations: Record<string, SourceLocation> = {};
    for (const [path, origin] of origins) {
      locations[path] = origin.value;
      const model = modelPath(path);
      if (model !== path) locations[model] = origin.value;
    }
    for (const [own, from] of inherited) locations[own] = origins.get(from)!.value;
    for (const [from, to] of derived) {
      const loc = locations[from];
      if (loc && !locations[to]) locations[to] = loc;
    }
    return locations;
  };
  for (const section of ['database', 'cache', 'llm', 'api'] as const) {
    const settings = connections[section] as unknown as Obj | undefined;
    for (const field of ['password', 'api_key']) {
      if (settings?.[field] !== undefined) sensitivePaths.add(`connections.${section}.${field}`);
    }
  }
  const features: Record<string, boolean> = {};
  if (isObj(withDefaults.features)) for (const [k, v] of Object.entries(withDefaults.features)) features[k] = v === true;

  const secretValues = new Set<string>();
  const resolvedTree = { sandboxes, connections };
  for (const path of sensitivePaths) {
    const value = path.split('.').reduce<unknown>((acc, key) => (isObj(acc) ? acc[key] : undefined), resolvedTree);
    if (typeof value === 'string' && value !== '') secretValues.add(value);
  }
  const used = [...usedVariables].sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [name, value] of used) if (sensitiveVar(name) && value) secretValues.add(value);

  const resolved: ResolvedEnvironment = {
    environment: input.environment,
    file,
    root: input.root,
    sandboxes,
    connections,
    features,
    sensitivePaths: [...sensitivePaths].sort(),
    secretValues: [...secretValues],
    locations: {},
    variables: {},
    ...(input.salt ? { fingerprintKey: input.salt } : {}),
  };
  // Hashed on first read (plans, diffs), mapped on first read (cross-environment diagnostics).
  computedOnFirstRead(resolved, 'variables', () => {
    return Object.fromEntries(used.map(([name, v]) => [name, variableHash(name, v, input.salt)]));
  });
  computedOnFirstRead(resolved, 'locations', mapLocations);
  computedOnFirstRead(resolved, 'sourceHash', () => sha256(`iact-manifest\0${input.text}`));
  return { diagnostics, placeholdersUsed: [...placeholdersUsed].sort(), resolved };
}

/** `key` of `target` is computed when first read, then an ordinary data property. */
function computedOnFirstRead<T extends object, K extends keyof T>(target: T, key: K, compute: () => T[K]): void {
  const settle = (value: T[K]) => Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(target, key, {
    enumerable: true,
    configurable: true,
    get: () => {
      const value = compute();
      settle(value);
      return value;
    },
    set: settle,
  });
}

/** Point at the `${` inside a one-line scalar; other scalars point at their start. */
function columnOf(loc: SourceLocation, origin: ValueOrigin | undefined, index: number): SourceLocation {
  const type = origin?.scalarType;
  if (type === 'PLAIN') return { ...loc, col: loc.col + index };
  if (type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE') return { ...loc, col: loc.col + 1 + index };
  return loc;
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Manifest path -> resolved model path: connections.database.sslMode -> connections.database.ssl_mode. */
export function modelPath(path: string): string {
  if (!path.startsWith('connections.')) return path;
  const parts = path.split('.').map(snake);
  if (parts[1] === 'database' && parts[2] === 'name') parts[2] = 'database';
  return parts.join('.');
}

/** Database and user of a sandbox whose manifest names none: its name with '-' as '_' (the drivers' rule too). */
export const defaultIdentifier = (sandboxName: string): string => sandboxName.replace(/-/g, '_');

function toSandbox(name: string, raw: Obj): SandboxSpec {
  const settings: Record<string, SettingValue> = {};
  if (isObj(raw.settings)) for (const [k, v] of Object.entries(raw.settings)) settings[k] = v as SettingValue;
  const service = raw.service as ServiceKind;
  const spec: SandboxSpec = {
    name,
    service,
    driver: (raw.driver as DriverName | undefined) ?? 'lightweight',
    // No port: chosen at the first apply; the loader puts the kept one here afterwards (src/manifest/kept.ts).
    port: typeof raw.port === 'number' ? raw.port : PORT_CHOSEN_AT_APPLY,
    settings,
    depends_on: Array.isArray(raw.depends_on) ? (raw.depends_on as string[]) : [],
    protect: raw.protect === true,
  };
  if (raw.tls === true) spec.tls = true;
  for (const field of ['version', 'database', 'user', 'password', 'memory', 'image'] as const) {
    if (typeof raw[field] === 'string') spec[field] = raw[field];
  }
  if (isObj(raw.ssh)) spec.ssh = dropUndefined({ ...(raw.ssh as Obj) }) as unknown as TunnelSsh;
  if (isObj(raw.remote)) spec.remote = { host: raw.remote.host as string, port: raw.remote.port as number };
  if (typeof raw.checks === 'string') spec.checks = raw.checks as TunnelCheck;
  // Only a docker sandbox has an engine; one from `defaults:` means nothing to the others.
  if (isObj(raw.engine) && spec.driver === 'docker') spec.engine = toEngine(raw.engine);
  if (serviceEntry(service)?.hasDatabase) {
    spec.database ??= defaultIdentifier(name);
    spec.user ??= defaultIdentifier(name);
  }
  if (raw.password === null) spec.auth = false;
  if (Array.isArray(raw.init) && raw.init.length > 0) spec.init = raw.init as string[];
  if (Array.isArray(raw.extensions) && raw.extensions.length > 0) spec.extensions = raw.extensions as string[];
  if (raw.admin === true) spec.admin = true;
  if (typeof raw.from === 'string') {
    spec.from = raw.from;
    // A branch is created after its source (docs/data.md "Branches").
    const source = raw.from.split('@')[0]!;
    if (!spec.depends_on.includes(source)) spec.depends_on = [...spec.depends_on, source];
  }
  return spec;
}

function toEngine(raw: Obj): DockerEngine {
  const engine: DockerEngine = {};
  for (const field of ['host', 'context', 'publish', 'address'] as const) if (typeof raw[field] === 'string') engine[field] = raw[field];
  const tls = raw.tls;
  if (isObj(tls)) {
    const dir = typeof tls.dir === 'string' ? tls.dir.replace(/\/+$/, '') : undefined;
    // A dir holds what DOCKER_CERT_PATH holds; the driver gets the three files either way.
    const file = (field: 'ca' | 'cert' | 'key') => (typeof tls[field] === 'string' ? (tls[field] as string) : `${dir}/${field}.pem`);
    engine.tls = { ca: file('ca'), cert: file('cert'), key: file('key') };
  }
  return engine;
}

/** Where clients reach a sandbox's port: its engine's address or publish address, else 127.0.0.1 (docs/remote-engines.md). */
export function sandboxHost(sandbox: Pick<SandboxSpec, 'engine'>): string {
  const engine = sandbox.engine;
  if (engine?.address) return engine.address;
  if (engine?.publish && engine.publish !== '0.0.0.0' && engine.publish !== '::') return engine.publish;
  return '127.0.0.1';
}

type Derive = (from: string, to: string) => void;

function toConnections(raw: Obj, sandboxes: Record<string, SandboxSpec>, derive: Derive): Connections {
  const out: Connections = {};
  const db = isObj(raw.database) ? raw.database : undefined;
  if (db) {
    const tunnel = isObj(db.sshTunnel) ? db.sshTunnel : {};
    // Bound to a tunnel sandbox, the SSH_TUNNEL_* variables describe that tunnel (docs/tunnels.md).
    const through = typeof tunnel.sandbox === 'string' ? sandboxes[tunnel.sandbox] : undefined;
    const ssh = through?.ssh;
    const ssh_tunnel = ssh
      ? { enabled: true, host: ssh.host, port: ssh.port ?? 22, ...(ssh.user ? { user: ssh.user } : {}), sandbox: through.name }
      : {
          enabled: tunnel.enabled === true,
          ...(typeof tunnel.host === 'string' ? { host: tunnel.host } : {}),
          ...(typeof tunnel.port === 'number' ? { port: tunnel.port } : {}),
          ...(typeof tunnel.user === 'string' ? { user: tunnel.user } : {}),
        };
    const bound = typeof db.sandbox === 'string' ? sandboxes[db.sandbox] : undefined;
    let settings: DatabaseSettings;
    if (bound) {
      // Sandboxes listen on 127.0.0.1 (a remote engine's: its address); a tls: true one only over TLS,
      // checked against its own CA (whose path the loader adds: it knows where the sandboxes live).
      settings = {
        sandbox: bound.name,
        host: sandboxHost(bound),
        port: bound.port,
        database: bound.database ?? '',
        user: bound.user ?? '',
        password: bound.password,
        ssl_mode: (db.sslMode as string | undefined) ?? (bound.tls ? 'verify-full' : 'disable'),
        use_vm: true,
        ssh_tunnel,
      };
      derive(`sandboxes.${bound.name}.database`, 'connections.database.database');
      for (const f of ['port', 'user', 'password']) derive(`sandboxes.${bound.name}.${f}`, `connections.database.${f}`);
      derive('connections.database.sandbox', 'connections.database.host');
    } else {
      settings = {
        // Through a tunnel sandbox the database is at its local end.
        host: through ? '127.0.0.1' : (db.host as string),
        port: through ? through.port : ((db.port as number | undefined) ?? 5432),
        database: db.name as string,
        user: db.user as string,
        password: db.password as string | undefined,
        ssl_mode: db.sslMode as string | undefined,
        use_vm: false,
        ssh_tunnel,
      };
    }
    if (typeof db.sslCa === 'string') settings.ssl_ca = db.sslCa;
    out.database = dropUndefined(settings);
  }
  const cache = isObj(raw.cache) ? raw.cache : undefined;
  if (cache) {
    const bound = cache.backend === 'redis' && typeof cache.sandbox === 'string' ? sandboxes[cache.sandbox] : undefined;
    const settings: CacheSettings = { backend: cache.backend as CacheSettings['backend'], ttl: cache.ttl as number };
    if (bound) {
      Object.assign(settings, { sandbox: bound.name, host: sandboxHost(bound), port: bound.port, password: bound.password });
      // A tls: true sandbox serves TLS only, checked against its own CA (path added by the loader).
      if (bound.tls) settings.ssl_mode = 'verify-full';
      for (const f of ['port', 'password']) derive(`sandboxes.${bound.name}.${f}`, `connections.cache.${f}`);
      derive('connections.cache.sandbox', 'connections.cache.host');
    } else if (cache.backend === 'redis') {
      Object.assign(settings, { host: cache.host, port: (cache.port as number | undefined) ?? 6379, password: cache.password });
    }
    out.cache = dropUndefined(settings);
  }
  const llm = isObj(raw.llm) ? raw.llm : undefined;
  if (llm) {
    out.llm = dropUndefined<LlmSettings>({
      provider: llm.provider as string,
      model: llm.model as string,
      api_key: llm.apiKey as string | undefined,
      base_url: llm.baseUrl as string | undefined,
      max_tokens: llm.maxTokens as number,
      monthly_budget: llm.monthlyBudget as number,
      prefer_local: llm.preferLocal as boolean,
      fallback_to_heuristics: llm.fallbackToHeuristics as boolean,
    });
  }
  const api = isObj(raw.api) ? raw.api : undefined;
  if (api) {
    out.api = dropUndefined<ApiSettings>({
      base_url: api.baseUrl as string,
      timeout: api.timeout as number,
      verify_ssl: api.verifySsl as boolean,
      use_mock: api.useMock as boolean,
      api_key: api.apiKey as string | undefined,
    });
  }
  const logging = isObj(raw.logging) ? raw.logging : undefined;
  if (logging) {
    out.logging = dropUndefined<LoggingSettings>({
      level: logging.level as string,
      console: logging.console as boolean,
      file: logging.file as boolean,
      file_path: logging.filePath as string | undefined,
    });
  }
  return out;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
