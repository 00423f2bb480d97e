// Pure: checks the schema cannot express (names, references, cycles, ports, production rules).
// Runs on the interpolated data even when the schema found errors, so every problem shows at once.
import { CATALOG, isAllowedSetting, isReserved, serviceEntry, servicesServing } from '../catalog/index.js';
import { diag, formatLocation, type Diagnostic, type SourceLocation } from '../diagnostics.js';
import { PORT_CHOSEN_AT_APPLY, SERVICES, type DriverName, type ResolvedEnvironment } from '../model/types.js';
import { passwordProblem } from '../secrets/index.js';
import { schemaAt } from './schema.js';
import { envFileQuote } from '../util/env-quote.js';

type Segments = readonly (string | number)[];
export type Locate = (segments: Segments, key?: boolean) => SourceLocation;

type Obj = Record<string, unknown>;
export const SANDBOX_NAME = /^[a-z][a-z0-9-]{0,62}$/;
/** The schema's pattern for a setting key (schemas/manifest.schema.json), read from the schema itself. */
const SETTING_KEY = new RegExp(
  (schemaAt(['sandboxes', 'x', 'settings']) as { propertyNames: { pattern: string } }).propertyNames.pattern,
  'u',
);
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/**
 * A sandbox whose service is missing or unknown (a typo such as `servce:`) was already reported by
 * the schema; checks that depend on its kind would only echo that error, so they skip it.
 */
const knownService = (sb: Obj): boolean => (SERVICES as readonly unknown[]).includes(sb.service);

/** Sandboxes with the `defaults:` block merged in (only mappings; anything else is the schema's problem). */
export function mergedSandboxes(data: Obj): Record<string, Obj> {
  const defaults = isObj(data.defaults) ? data.defaults : {};
  const out: Record<string, Obj> = {};
  if (!isObj(data.sandboxes)) return out;
  for (const [name, raw] of Object.entries(data.sandboxes)) {
    // Invalid names are the schema's error; checking them further only repeats it.
    if (isObj(raw) && SANDBOX_NAME.test(name)) out[name] = { ...defaults, ...raw };
  }
  return out;
}

export function checkSemantics(
  data: Obj,
  ctx: { environment: string; fileEnvironment: string; file: string; locate: Locate },
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { locate, file } = ctx;
  const declared = str(data.environment);
  if (declared !== undefined && declared !== ctx.fileEnvironment) {
    out.push(
      diag(`environment is "${declared}" but the file is ${file}`, {
        location: locate(['environment']),
        code: 'semantic.environment-name',
        fix: `write environment: ${ctx.fileEnvironment}, or rename the file to environments/${declared}.yaml`,
      }),
    );
  }

  const sandboxes = mergedSandboxes(data);
  const names = Object.keys(sandboxes);

  // Ports: unique within the environment.
  const portOwner = new Map<number, string>();
  for (const [name, sb] of Object.entries(sandboxes)) {
    if (typeof sb.port !== 'number') continue;
    const owner = portOwner.get(sb.port);
    if (owner) {
      out.push(
        diag(
          `port ${sb.port} of sandbox ${name} is already used by sandbox ${owner} (${formatLocation(locate(['sandboxes', owner, 'port']))})`,
          {
            location: locate(['sandboxes', name, 'port']),
            code: 'semantic.port-reused',
            fix: 'give every sandbox its own port',
          },
        ),
      );
    } else portOwner.set(sb.port, name);
  }

  for (const [name, sb] of Object.entries(sandboxes)) {
    const service = str(sb.service);
    const driver = str(sb.driver) ?? 'lightweight';
    if (sb.image !== undefined && driver !== 'docker') {
      out.push(
        diag(`sandbox ${name} sets image but its driver is ${driver}`, {
          location: locate(['sandboxes', name, 'image'], true),
          code: 'semantic.image-driver',
          fix: 'remove image:, or use driver: docker',
        }),
      );
    }
    const entry = service === undefined ? undefined : serviceEntry(service);
    out.push(...tunnelProblems(name, sb, driver, locate));
    out.push(...engineProblems(name, sb, driver, data, locate));
    if (sb.tls === true && entry && !(entry.tlsDrivers ?? []).includes(driver as DriverName)) {
      const where = SERVICES.filter((s) => (CATALOG[s].tlsDrivers ?? []).length > 0).map(
        (s) => `${s} (${CATALOG[s].tlsDrivers!.join(', ')})`,
      );
      out.push(
        diag(`sandbox ${name} sets tls: true, which ${entry.name} with the ${driver} driver cannot serve`, {
          location: locate(['sandboxes', name, 'tls'], true),
          code: 'semantic.tls-unsupported',
          fix: `remove tls:, or use one of: ${where.join(', ')}`,
        }),
      );
    }
    // Port, database, user and password may be omitted: defaults, or chosen once and kept (docs/data.md).
    if (entry && sb.password === null) {
      if (entry.name !== 'redis') {
        out.push(
          diag(`password: null (no auth) is for redis sandboxes; ${name} is a ${entry.name} sandbox`, {
            location: locate(['sandboxes', name, 'password']),
            code: 'semantic.no-auth',
            fix: 'remove password: (one is generated and kept), or write password: ${VARIABLE}',
          }),
        );
      } else if (ctx.environment === 'production') {
        out.push(
          diag(`sandbox ${name} has no password (password: null), which production never allows`, {
            location: locate(['sandboxes', name, 'password']),
            code: 'semantic.no-auth',
            fix: 'remove password: (one is generated and kept), or write password: ${VARIABLE}',
          }),
        );
      }
    }
    // What each service can do is the catalogue's (docs/service-catalogue.md).
    const only = (field: string, allowed: (e: NonNullable<typeof entry>) => boolean, what: string) => {
      if (sb[field] === undefined || !entry || allowed(entry)) return;
      out.push(
        diag(`sandbox ${name} sets ${field}, which ${what}; it is a ${entry.name} sandbox`, {
          location: locate(['sandboxes', name, field], true),
          code: 'semantic.field-service',
          fix: `remove ${field}:`,
        }),
      );
    };
    only('extensions', (e) => e.extensions === true, 'only postgres sandboxes have');
    only('admin', (e) => e.hasDatabase, 'only postgres and mysql sandboxes have');
    only('init', (e) => (e.initKinds?.length ?? 0) > 0, 'only sandboxes that run a server have');
    // The docker driver runs none of these yet (docs/data.md "Drivers").
    if (driver === 'docker') {
      for (const field of ['init', 'extensions', 'admin', 'password']) {
        if (sb[field] === undefined || (field === 'admin' && sb[field] === false) || (field === 'password' && sb[field] !== null)) continue;
        out.push(
          diag(`sandbox ${name} sets ${field === 'password' ? 'password: null' : field}, which the docker driver does not support yet`, {
            location: locate(['sandboxes', name, field], true),
            code: 'semantic.docker-unsupported',
            fix: `use driver: lightweight or namespace for it, or remove ${field}:`,
          }),
        );
      }
    }
    // A line break or NUL is the schema's error already (its secret pattern): said once.
    if (typeof sb.password === 'string' && !/[\r\n\0]/.test(sb.password)) {
      const problem = passwordProblem(sb.password);
      // The value is never echoed: it is a secret.
      if (problem) {
        out.push(
          diag(`the password of sandbox ${name} ${problem}`, {
            location: locate(['sandboxes', name, 'password']),
            code: 'semantic.password',
            fix: 'choose a password without control characters, and without a single quote next to $, `, \\ or "',
          }),
        );
      }
    }
    if (entry && isObj(sb.settings)) {
      for (const key of Object.keys(sb.settings)) {
        // A key the schema's pattern refuses was reported there.
        if (isAllowedSetting(entry.name, key) || !SETTING_KEY.test(key)) continue;
        const owned = isReserved(entry.name, key);
        const allowed = entry.settings === 'any' ? [] : entry.settings;
        out.push(
          diag(
            owned ? `setting ${key} of sandbox ${name} is managed by iact` : `setting ${key} is not one a ${entry.name} sandbox may set`,
            {
              location: locate(['sandboxes', name, 'settings', key], true),
              code: 'semantic.setting-refused',
              detail: owned
                ? undefined
                : `settings are an allow-list (docs/manifest.md "Settings"): include directives, option prefixes and loose- forms, ACL lines and listen addresses are never allowed; ${entry.name} allows ${allowed.join(', ')}`,
              fix: owned
                ? "remove it; use the sandbox's port and password fields instead"
                : 'remove it, or spell it as one of the allowed names exactly',
            },
          ),
        );
      }
    }
    if (typeof sb.from === 'string') out.push(...branchProblems(name, sb, sandboxes, locate));
    const deps = Array.isArray(sb.depends_on) ? sb.depends_on : [];
    deps.forEach((dep, index) => {
      if (typeof dep !== 'string') return;
      if (dep === name) {
        out.push(
          diag(`sandbox ${name} depends on itself`, {
            location: locate(['sandboxes', name, 'depends_on', index]),
            code: 'semantic.depends-cycle',
            fix: `remove ${dep} from depends_on`,
          }),
        );
      } else if (!(dep in sandboxes)) {
        out.push(
          diag(`sandbox ${name} depends on ${dep}, which is not a sandbox of this environment`, {
            location: locate(['sandboxes', name, 'depends_on', index]),
            code: 'semantic.depends-missing',
            fix: names.length > 1 ? `use one of: ${names.filter((n) => n !== name).join(', ')}` : 'remove depends_on',
          }),
        );
      }
    });
  }
  out.push(...dependencyCycles(sandboxes, locate));

  const connections = isObj(data.connections) ? data.connections : {};
  const db = isObj(connections.database) ? connections.database : undefined;
  let dbHas = { host: false, user: false, password: false };
  const through = db && isObj(db.sshTunnel) ? str(db.sshTunnel.sandbox) : undefined;
  if (db && through !== undefined) out.push(...tunnelBindingProblems(db, through, sandboxes, names, locate));
  if (db) {
    const bound = str(db.sandbox);
    if (bound !== undefined) {
      const target = sandboxes[bound];
      if (!target) {
        out.push(
          diag(`connections.database is bound to sandbox ${bound}, which does not exist`, {
            location: locate(['connections', 'database', 'sandbox']),
            code: 'semantic.connection-missing',
            fix: pick(names, sandboxes, servicesServing('database')),
          }),
        );
      } else if (knownService(target) && !(servicesServing('database') as string[]).includes(String(target.service))) {
        out.push(
          diag(`connections.database is bound to sandbox ${bound}, a ${String(target.service)} sandbox, not a database`, {
            location: locate(['connections', 'database', 'sandbox']),
            code: 'semantic.connection-kind',
            fix: pick(names, sandboxes, servicesServing('database')),
          }),
        );
      }
      for (const field of ['host', 'port', 'name', 'user', 'password']) {
        if (db[field] !== undefined) {
          out.push(
            diag(`connections.database sets both sandbox and ${field}`, {
              location: locate(['connections', 'database', field], true),
              code: 'semantic.connection-both',
              fix: `remove ${field}: it comes from sandbox ${bound}`,
            }),
          );
        }
      }
      // A bound sandbox always has a user and a password: its own, defaults or generated ones (docs/data.md).
      dbHas = { host: true, user: target !== undefined, password: target !== undefined && target.password !== null };
    } else {
      dbHas = { host: db.host !== undefined || through !== undefined, user: db.user !== undefined, password: db.password !== undefined };
      for (const field of through !== undefined ? (['name', 'user'] as const) : (['host', 'name', 'user'] as const)) {
        if (db[field] === undefined) {
          out.push(
            diag(`connections.database needs ${field} (or sandbox: NAME)`, {
              location: locate(['connections', 'database'], true),
              code: 'semantic.connection-field',
              fix: `add ${field}:, or bind it to a sandbox with sandbox: NAME`,
            }),
          );
        }
      }
    }
  }

  const cache = isObj(connections.cache) ? connections.cache : undefined;
  if (cache) {
    const bound = str(cache.sandbox);
    if (cache.backend === 'memory' && (bound !== undefined || cache.host !== undefined)) {
      out.push(
        diag('connections.cache uses backend memory but sets a redis sandbox or host', {
          location: locate(['connections', 'cache', bound !== undefined ? 'sandbox' : 'host'], true),
          code: 'semantic.cache-memory',
          fix: 'use backend: redis, or remove sandbox/host',
        }),
      );
    }
    if (cache.backend === 'redis') {
      if (bound !== undefined) {
        const target = sandboxes[bound];
        if (!target || (knownService(target) && !(servicesServing('cache') as string[]).includes(String(target.service)))) {
          out.push(
            diag(
              target
                ? `connections.cache is bound to sandbox ${bound}, a ${String(target.service)} sandbox, not redis`
                : `connections.cache is bound to sandbox ${bound}, which does not exist`,
              {
                location: locate(['connections', 'cache', 'sandbox']),
                code: target ? 'semantic.connection-kind' : 'semantic.connection-missing',
                fix: pick(names, sandboxes, servicesServing('cache')),
              },
            ),
          );
        }
      } else if (cache.host === undefined) {
        out.push(
          diag('connections.cache uses backend redis but names no sandbox or host', {
            location: locate(['connections', 'cache'], true),
            code: 'semantic.connection-field',
            fix: 'add sandbox: NAME (a redis sandbox) or host:',
          }),
        );
      }
    }
  }

  if (ctx.environment === 'production') {
    const missing = (['host', 'user', 'password'] as const).filter((f) => !dbHas[f]);
    if (!db || missing.length > 0) {
      out.push(
        diag(`production needs a database ${(db ? missing : ['host', 'user', 'password']).join(', ')}`, {
          location: db ? locate(['connections', 'database'], true) : locate(['connections'], true),
          code: 'semantic.production-database',
          fix: 'set connections.database host, user and password (password: ${DB_PROD_PASSWORD}, the value in .env.production)',
        }),
      );
    }
    const api = isObj(connections.api) ? connections.api : undefined;
    if (!api) {
      out.push(
        diag('production needs the API base URL', {
          location: locate(['connections'], true),
          code: 'semantic.production-api',
          fix: 'set connections.api.baseUrl, e.g. baseUrl: ${API_BASE_URL}',
        }),
      );
    }
  }

  // Values that reach the env file must be writable so both bash and Python read them back exactly.
  const walk = (value: unknown, segments: (string | number)[]) => {
    if (typeof value === 'string') {
      if (envFileQuote(value) === undefined) {
        out.push(
          diag(
            `${segments.join('.')} contains a single quote together with $, \`, \\ or ", which the env file cannot carry for both bash and Python`,
            {
              location: locate(segments),
              code: 'semantic.unquotable',
              fix: 'drop one of those characters from the value',
            },
          ),
        );
      }
    } else if (isObj(value)) for (const [k, v] of Object.entries(value)) walk(v, [...segments, k]);
  };
  walk(connections, ['connections']);
  for (const section of ['database', 'cache']) {
    const password = isObj(connections[section]) ? str((connections[section] as Obj).password) : undefined;
    const problem = password === undefined || /[\r\n\0]/.test(password) ? undefined : passwordProblem(password);
    if (problem && envFileQuote(password!) !== undefined) {
      out.push(
        diag(`connections.${section}.password ${problem}`, {
          location: locate(['connections', section, 'password']),
          code: 'semantic.password',
          fix: 'choose a password without control characters',
        }),
      );
    }
  }
  return out;
}

function pick(names: string[], sandboxes: Record<string, Obj>, services: string[]): string {
  const fitting = names.filter((n) => services.includes(String(sandboxes[n]?.service)));
  return fitting.length > 0 ? `use one of: ${fitting.join(', ')}` : `add a ${services.join(' or ')} sandbox under sandboxes:`;
}

/** `from:` names another sandbox of this environment, of the same service, on a driver that branches (docs/data.md "Branches"). */
function branchProblems(name: string, sb: Obj, sandboxes: Record<string, Obj>, locate: Locate): Diagnostic[] {
  const source = String(sb.from).split('@')[0]!;
  const at = { location: locate(['sandboxes', name, 'from']), code: 'semantic.branch' };
  const others = Object.keys(sandboxes).filter((n) => n !== name && sandboxes[n]?.service === sb.service);
  if (source === name) return [diag(`sandbox ${name} cannot be a branch of itself`, { ...at, fix: 'name another sandbox in from:' })];
  const src = sandboxes[source];
  if (!src) {
    return [
      diag(`sandbox ${name} branches from ${source}, which is not a sandbox of this environment`, {
        ...at,
        fix: others.length > 0 ? `use one of: ${others.join(', ')}` : 'remove from:',
      }),
    ];
  }
  if (src.service !== sb.service) {
    return [
      diag(`sandbox ${name} (${String(sb.service)}) cannot branch from ${source}, a ${String(src.service)} sandbox`, {
        ...at,
        fix: others.length > 0 ? `use one of: ${others.join(', ')}` : 'remove from:',
      }),
    ];
  }
  if (sb.driver === 'docker' || src.driver === 'docker') {
    return [
      diag(`sandbox ${name}: the docker driver has no branches yet`, {
        ...at,
        fix: 'use driver: lightweight (or namespace) for the branch and its source',
      }),
    ];
  }
  return [];
}

function dependencyCycles(sandboxes: Record<string, Obj>, locate: Locate): Diagnostic[] {
  const out: Diagnostic[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const deps = (name: string): string[] => {
    const raw = sandboxes[name]?.depends_on;
    return Array.isArray(raw) ? raw.filter((d): d is string => typeof d === 'string' && d !== name && d in sandboxes) : [];
  };
  const visit = (name: string, stack: string[]) => {
    state.set(name, 'visiting');
    for (const dep of deps(name)) {
      if (state.get(dep) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep];
        const key = [...cycle.slice(0, -1)].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          const index = ((sandboxes[name]?.depends_on as unknown[] | undefined) ?? []).indexOf(dep);
          out.push(
            diag(`depends_on cycle: ${cycle.join(' -> ')}`, {
              location: locate(['sandboxes', name, 'depends_on', index]),
              code: 'semantic.depends-cycle',
              fix: 'remove one of these depends_on entries; apply needs an order',
            }),
          );
        }
      } else if (!state.has(dep)) visit(dep, [...stack, dep]);
    }
    state.set(name, 'done');
  };
  for (const name of Object.keys(sandboxes)) if (!state.has(name)) visit(name, [name]);
  return out;
}

/** Ports must be unique on the machine: sandboxes of all environments share 127.0.0.1. */
export function crossEnvironmentPortConflicts(envs: readonly ResolvedEnvironment[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const owners = new Map<number, { env: ResolvedEnvironment; name: string }>();
  for (const env of envs) {
    for (const sb of Object.values(env.sandboxes)) {
      // A port chosen at the first apply is free by construction.
      if (sb.port === PORT_CHOSEN_AT_APPLY) continue;
      const owner = owners.get(sb.port);
      if (owner && owner.env.environment !== env.environment) {
        const there = owner.env.locations[`sandboxes.${owner.name}.port`];
        out.push(
          diag(
            `port ${sb.port} of sandbox ${sb.name} is also used by ${owner.env.environment}/${owner.name}${there ? ` (${formatLocation(there)})` : ''}`,
            {
              location: env.locations[`sandboxes.${sb.name}.port`] ?? { file: env.file, line: 1, col: 1 },
              code: 'semantic.port-reused-across',
              fix: 'environments share this machine; give each sandbox its own port',
            },
          ),
        );
      } else if (!owner) owners.set(sb.port, { env, name: sb.name });
    }
  }
  return out;
}

/**
 * engine: (docs/remote-engines.md) on docker sandboxes only; host or context; TLS files for a tcp://
 * host and only there; a remote engine names the address its ports bind to (the driver checks again).
 */
function engineProblems(name: string, sb: Obj, driver: string, data: Obj, locate: Locate): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (!isObj(sb.engine)) return out;
  const own = isObj(data.sandboxes) && isObj(data.sandboxes[name]) && data.sandboxes[name].engine !== undefined;
  const at = (...field: string[]) => locate(own ? ['sandboxes', name, 'engine', ...field] : ['defaults', 'engine', ...field], true);
  const where = own ? `sandbox ${name}` : `defaults (for docker sandbox ${name})`;
  if (driver !== 'docker') {
    // From defaults it applies to the docker sandboxes only.
    if (own) {
      out.push(
        diag(`sandbox ${name} sets engine, which only the docker driver has; its driver is ${driver}`, {
          location: at(),
          code: 'semantic.engine-driver',
          fix: 'remove engine:, or use driver: docker',
        }),
      );
    }
    return out;
  }
  const engine = sb.engine;
  const host = str(engine.host);
  const context = str(engine.context);
  if (host !== undefined && context !== undefined) {
    out.push(
      diag(`${where}: engine sets both host and context`, {
        location: at('context'),
        code: 'semantic.engine-target',
        fix: 'keep one: host: tcp://HOST:2376 (or ssh://USER@HOST), or context: NAME',
      }),
    );
  }
  const tls = isObj(engine.tls) ? engine.tls : undefined;
  if (host?.startsWith('tcp://') && !tls) {
    out.push(
      diag(`${where}: engine host ${host} has no tls:, and a docker engine on plain TCP lets anyone who reaches it run as root`, {
        location: at('host'),
        code: 'semantic.engine-tls',
        fix: 'add tls: { dir: DIR } (ca.pem, cert.pem, key.pem) or tls: { ca: FILE, cert: FILE, key: FILE } (docs/remote-engines.md)',
      }),
    );
  }
  if (tls) {
    if (!host?.startsWith('tcp://')) {
      out.push(
        diag(`${where}: engine tls is for a tcp:// host${host ? `, not ${host}` : ''}`, {
          location: at('tls'),
          code: 'semantic.engine-tls',
          fix: 'remove tls:, or set host: tcp://HOST:2376 (an ssh:// host or a context carries its own credentials)',
        }),
      );
    }
    const files = ['ca', 'cert', 'key'].filter((f) => tls[f] !== undefined);
    if (tls.dir !== undefined ? files.length > 0 : files.length !== 3) {
      out.push(
        diag(`${where}: engine tls needs either dir or all of ca, cert and key`, {
          location: at('tls'),
          code: 'semantic.engine-tls',
          fix: 'write tls: { dir: DIR } (holding ca.pem, cert.pem, key.pem) or tls: { ca: FILE, cert: FILE, key: FILE }',
        }),
      );
    }
  }
  const remote = (host !== undefined && !host.startsWith('unix://')) || (context !== undefined && context !== 'default');
  const publish = str(engine.publish);
  if (remote && publish === undefined) {
    out.push(
      diag(
        `${where} runs on the remote docker engine ${host ?? `context ${context}`}, and engine.publish does not say where its ports bind`,
        {
          location: at(),
          code: 'semantic.engine-publish',
          fix: "add publish: ADDRESS, the engine host's IP address that clients reach, e.g. publish: 10.0.0.5 (docs/remote-engines.md)",
        },
      ),
    );
  }
  if (remote && (publish === '0.0.0.0' || publish === '::') && engine.address === undefined) {
    out.push(
      diag(`${where}: publish ${publish} binds every address of the engine's host; clients need to be told one`, {
        location: at('publish'),
        code: 'semantic.engine-publish',
        fix: 'add address: HOST (the name or IP clients connect to), or publish a single address',
      }),
    );
  }
  return out;
}

/** A tunnel needs its ssh and remote blocks, the lightweight driver, and what its login check logs in with (docs/tunnels.md). */
function tunnelProblems(name: string, sb: Obj, driver: string, locate: Locate): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (field?: string) => locate(field && sb[field] !== undefined ? ['sandboxes', name, field] : ['sandboxes', name], true);
  if (sb.service !== 'tunnel') {
    for (const field of ['ssh', 'remote', 'checks']) {
      if (sb[field] !== undefined) {
        out.push(
          diag(`sandbox ${name} sets ${field}, which only a tunnel has`, {
            location: at(field),
            code: 'semantic.tunnel-field',
            fix: `remove ${field}:, or use service: tunnel`,
          }),
        );
      }
    }
    return out;
  }
  for (const field of ['ssh', 'remote']) {
    if (sb[field] === undefined) {
      const fix =
        field === 'ssh'
          ? 'add ssh: { host: HOST, user: USER, knownHosts: FILE }'
          : 'add remote: { host: HOST, port: PORT } (as the SSH server sees it)';
      out.push(diag(`tunnel sandbox ${name} needs ${field}`, { location: at(), code: 'semantic.sandbox-field', fix }));
    }
  }
  if (driver !== 'lightweight') {
    out.push(
      diag(`tunnel sandbox ${name} uses driver ${driver}`, {
        location: at('driver'),
        code: 'semantic.tunnel-driver',
        fix: 'use driver: lightweight (an ssh process on this machine)',
      }),
    );
  }
  const checks = str(sb.checks) ?? 'tcp';
  const needs = checks === 'redis' ? ['password'] : checks === 'tcp' ? [] : ['database', 'user', 'password'];
  for (const field of needs) {
    if (sb[field] === undefined) {
      out.push(
        diag(`tunnel sandbox ${name} checks ${checks} through the tunnel and needs ${field} to log in`, {
          location: at('checks'),
          code: 'semantic.sandbox-field',
          fix: `add ${field}: (the remote server's), or use checks: tcp`,
        }),
      );
    }
  }
  return out;
}

/** connections.database.sshTunnel.sandbox: a tunnel of this environment, which gives host and port. */
function tunnelBindingProblems(db: Obj, through: string, sandboxes: Record<string, Obj>, names: string[], locate: Locate): Diagnostic[] {
  const out: Diagnostic[] = [];
  const location = locate(['connections', 'database', 'sshTunnel', 'sandbox']);
  const tunnels = names.filter((n) => sandboxes[n]!.service === 'tunnel');
  const fix = tunnels.length > 0 ? `use one of: ${tunnels.join(', ')}` : 'add a sandbox with service: tunnel';
  const target = sandboxes[through];
  if (!target)
    out.push(
      diag(`connections.database.sshTunnel is bound to sandbox ${through}, which does not exist`, {
        location,
        code: 'semantic.connection-missing',
        fix,
      }),
    );
  else if (target.service !== 'tunnel')
    out.push(
      diag(`connections.database.sshTunnel is bound to sandbox ${through}, a ${String(target.service)} sandbox, not a tunnel`, {
        location,
        code: 'semantic.connection-kind',
        fix,
      }),
    );
  for (const field of ['sandbox', 'host', 'port']) {
    if (db[field] !== undefined) {
      out.push(
        diag(`connections.database sets ${field} and is reached through tunnel ${through}`, {
          location: locate(['connections', 'database', field], true),
          code: 'semantic.connection-both',
          fix: `remove ${field}: the database is at 127.0.0.1 on the tunnel's port`,
        }),
      );
    }
  }
  const tunnel = isObj(db.sshTunnel) ? db.sshTunnel : {};
  for (const field of ['enabled', 'host', 'port', 'user']) {
    if (tunnel[field] !== undefined) {
      out.push(
        diag(`connections.database.sshTunnel sets both sandbox and ${field}`, {
          location: locate(['connections', 'database', 'sshTunnel', field], true),
          code: 'semantic.connection-both',
          fix: `remove ${field}: it comes from tunnel ${through}`,
        }),
      );
    }
  }
  return out;
}
