// Pure: checks the schema cannot express (names, references, cycles, ports, production rules).
// Runs on the interpolated data even when the schema found errors, so every problem shows at once.
import { serviceEntry, servicesServing } from '../catalog/index.js';
import { diag, formatLocation, type Diagnostic, type SourceLocation } from '../diagnostics.js';
import { SERVICES, type ResolvedEnvironment } from '../model/types.js';
import { envFileQuote } from '../util/env-quote.js';

type Segments = readonly (string | number)[];
export type Locate = (segments: Segments, key?: boolean) => SourceLocation;

type Obj = Record<string, unknown>;
const SANDBOX_NAME = /^[a-z][a-z0-9-]{0,62}$/;
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

export function checkSemantics(data: Obj, ctx: { environment: string; fileEnvironment: string; file: string; locate: Locate }): Diagnostic[] {
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
        diag(`port ${sb.port} of sandbox ${name} is already used by sandbox ${owner} (${formatLocation(locate(['sandboxes', owner, 'port']))})`, {
          location: locate(['sandboxes', name, 'port']),
          code: 'semantic.port-reused',
          fix: 'give every sandbox its own port',
        }),
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
    if (entry?.hasDatabase) {
      for (const field of ['database', 'user', 'password']) {
        if (sb[field] === undefined) {
          out.push(
            diag(`${service} sandbox ${name} needs ${field}`, {
              location: locate(['sandboxes', name], true),
              code: 'semantic.sandbox-field',
              fix: field === 'password' ? `add password: \${${name.toUpperCase().replace(/-/g, '_')}_PASSWORD} and set it in .env` : `add ${field}: <name>`,
            }),
          );
        }
      }
    } else if (entry?.needsPassword && sb.password === undefined) {
      out.push(
        diag(`${entry.name} sandbox ${name} needs password (sandboxes always require one)`, {
          location: locate(['sandboxes', name], true),
          code: 'semantic.sandbox-field',
          fix: `add password: \${${name.toUpperCase().replace(/-/g, '_')}_PASSWORD} and set it in .env`,
        }),
      );
    }
    if (typeof sb.from === 'string') out.push(...branchProblems(name, sb, sandboxes, locate));
    const deps = Array.isArray(sb.depends_on) ? sb.depends_on : [];
    deps.forEach((dep, index) => {
      if (typeof dep !== 'string') return;
      if (dep === name) {
        out.push(diag(`sandbox ${name} depends on itself`, { location: locate(['sandboxes', name, 'depends_on', index]), code: 'semantic.depends-cycle', fix: `remove ${dep} from depends_on` }));
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
      dbHas = { host: true, user: target?.user !== undefined, password: target?.password !== undefined };
    } else {
      dbHas = { host: db.host !== undefined, user: db.user !== undefined, password: db.password !== undefined };
      for (const field of ['host', 'name', 'user'] as const) {
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
              { location: locate(['connections', 'cache', 'sandbox']), code: target ? 'semantic.connection-kind' : 'semantic.connection-missing', fix: pick(names, sandboxes, servicesServing('cache')) },
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
          diag(`${segments.join('.')} contains a single quote together with $, \`, \\ or ", which the env file cannot carry for both bash and Python`, {
            location: locate(segments),
            code: 'semantic.unquotable',
            fix: 'drop one of those characters from the value',
          }),
        );
      }
    } else if (isObj(value)) for (const [k, v] of Object.entries(value)) walk(v, [...segments, k]);
  };
  walk(connections, ['connections']);
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
    return [diag(`sandbox ${name} branches from ${source}, which is not a sandbox of this environment`, { ...at, fix: others.length > 0 ? `use one of: ${others.join(', ')}` : 'remove from:' })];
  }
  if (src.service !== sb.service) {
    return [diag(`sandbox ${name} (${String(sb.service)}) cannot branch from ${source}, a ${String(src.service)} sandbox`, { ...at, fix: others.length > 0 ? `use one of: ${others.join(', ')}` : 'remove from:' })];
  }
  if (sb.driver === 'docker' || src.driver === 'docker') {
    return [diag(`sandbox ${name}: the docker driver has no branches yet`, { ...at, fix: 'use driver: lightweight (or namespace) for the branch and its source' })];
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
          const index = (sandboxes[name]?.depends_on as unknown[]).indexOf(dep);
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
      const owner = owners.get(sb.port);
      if (owner && owner.env.environment !== env.environment) {
        const there = owner.env.locations[`sandboxes.${owner.name}.port`];
        out.push(
          diag(`port ${sb.port} of sandbox ${sb.name} is also used by ${owner.env.environment}/${owner.name}${there ? ` (${formatLocation(there)})` : ''}`, {
            location: env.locations[`sandboxes.${sb.name}.port`] ?? { file: env.file, line: 1, col: 1 },
            code: 'semantic.port-reused-across',
            fix: 'environments share this machine; give each sandbox its own port',
          }),
        );
      } else if (!owner) owners.set(sb.port, { env, name: sb.name });
    }
  }
  return out;
}
