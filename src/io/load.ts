// I/O edge of manifest loading: find the file, read it and the .env files, hand both to the pure resolver.
import { linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { lintDotenv, MAX_DOTENV_BYTES, parseDotenv } from '../manifest/dotenv.js';
import { readProjectText } from './files.js';
import { DiagnosticError, diag, hasErrors, type Diagnostic } from '../diagnostics.js';
import { projectPaths } from '../project.js';
import { resolveInitFiles } from './init-files.js';
import { withKept } from './kept.js';
import type { ResolvedEnvironment } from '../model/types.js';
import { ENVIRONMENT_NAME } from '../manifest/detect.js';
import { resolveManifest } from '../manifest/resolve.js';
import { MAX_MANIFEST_BYTES, tooLargeDiagnostic } from '../manifest/yaml.js';

export interface LoadOptions {
  root: string;
  environment: string;
  env?: NodeJS.ProcessEnv;
  allowMissingVariables?: boolean;
  /** Values used only for variables that are set nowhere else (validate uses .env.example). */
  placeholders?: Record<string, string>;
  /** Key of the variables' hashes: projectSalt(root) where plans are made; unkeyed when absent. */
  salt?: string;
}

export interface LoadResult {
  resolved?: ResolvedEnvironment;
  diagnostics: Diagnostic[];
  /** Manifest path relative to the root, when found. */
  file?: string;
  /** Variables that took their value from `placeholders`. */
  placeholdersUsed?: string[];
}

/** Names of the manifests in environments/ (.yaml or .yml), sorted. */
export function listEnvironments(root: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(path.join(root, 'environments'));
  } catch {
    return [];
  }
  const names = entries.filter((f) => /\.ya?ml$/.test(f)).map((f) => f.replace(/\.ya?ml$/, ''));
  return [...new Set(names)].sort();
}

/** environments/<name>.yaml, else .yml; relative to the root. */
export function manifestFile(root: string, environment: string): string | undefined {
  for (const ext of ['yaml', 'yml']) {
    const rel = `environments/${environment}.${ext}`;
    try {
      // Any entry of that name: what is not a regular file gets its diagnostic when read.
      lstatSync(path.join(root, rel));
      return rel;
    } catch {
      // not this extension
    }
  }
  return undefined;
}

/** A .env file's text (undefined when absent); a FIFO, a directory or more than 1 MB is a DiagnosticError. */
export function readDotenvText(root: string, rel: string): string | undefined {
  return readProjectText(path.join(root, rel), rel, MAX_DOTENV_BYTES, '.env files');
}

function readDotenvFile(root: string, rel: string): Record<string, string> {
  const text = readDotenvText(root, rel);
  return text === undefined ? {} : parseDotenv(text);
}

/**
 * `.env` then `.env.<environment>`; the process environment wins over both. Lines dotenv would
 * misread are added to `diagnostics` when given.
 */
export function readVariables(
  root: string,
  environment: string,
  env: NodeJS.ProcessEnv,
  diagnostics?: Diagnostic[],
): Record<string, string | undefined> {
  const read = (rel: string): Record<string, string> => {
    const text = readDotenvText(root, rel);
    if (text === undefined) return {};
    diagnostics?.push(...lintDotenv(text, rel));
    return parseDotenv(text);
  };
  const fromFiles = { ...read('.env'), ...read(`.env.${environment}`) };
  const out: Record<string, string | undefined> = { ...fromFiles };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Where sandboxes live, as the drivers' bash decides it (bash/lib/sandbox.sh sb::locate):
 * IACT_SANDBOX_ROOT, then WASI_SANDBOX_DIR, each from the process environment, then
 * .env.<environment>, then .env; an empty value counts as unset. Undefined: the default.
 */
export function sandboxRootSetting(root: string, environment: string, env: NodeJS.ProcessEnv): string | undefined {
  const base = readDotenvFile(root, '.env');
  const specific = ENVIRONMENT_NAME.test(environment) ? readDotenvFile(root, `.env.${environment}`) : {};
  const pick = (key: string): string | undefined => env[key] || specific[key] || base[key] || undefined;
  return pick('IACT_SANDBOX_ROOT') ?? pick('WASI_SANDBOX_DIR');
}

export function unknownEnvironment(root: string, environment: string, source?: string): Diagnostic {
  const existing = listEnvironments(root);
  return diag(`no manifest for environment "${environment}"${source ? ` (from ${source})` : ''}`, {
    code: 'env.unknown',
    detail: existing.length > 0 ? `manifests in environments/: ${existing.join(', ')}` : 'environments/ has no manifests',
    fix:
      existing.length > 0
        ? `use --env ${existing.join(' | ')}, or create environments/${environment}.yaml`
        : 'run `iact init` to scaffold development, staging and production',
  });
}

/** A name that cannot be a manifest's (`../etc`, `Staging`): the pattern, and the manifests there are. */
export function invalidEnvironmentName(root: string, environment: string, source?: string): Diagnostic | undefined {
  if (ENVIRONMENT_NAME.test(environment)) return undefined;
  const existing = listEnvironments(root);
  const lower = environment.toLowerCase();
  return diag(`invalid environment name ${JSON.stringify(environment)}${source ? ` (from ${source})` : ''}`, {
    code: 'env.name',
    detail: `an environment name matches ${ENVIRONMENT_NAME.source} (its manifest is environments/<name>.yaml)\n${
      existing.length > 0 ? `manifests in environments/: ${existing.join(', ')}` : 'environments/ has no manifests'
    }`,
    fix: existing.includes(lower)
      ? `use --env ${lower}`
      : existing.length > 0
        ? `use --env ${existing.join(' | ')}`
        : "name it with lowercase letters, digits, '-' and '_', starting with a letter",
  });
}

/** environments/<name>.yaml and .yml both there: which one is meant is anyone's guess. */
export function duplicateManifest(root: string, environment: string): Diagnostic | undefined {
  const both = ['yaml', 'yml'].map((ext) => `environments/${environment}.${ext}`);
  const present = both.filter((rel) => {
    try {
      return statSync(path.join(root, rel)).isFile();
    } catch {
      return false;
    }
  });
  if (present.length < 2) return undefined;
  return diag(`environment ${environment} has two manifests: ${present.join(' and ')}`, {
    code: 'env.duplicate',
    fix: `keep one: delete or rename ${present[1]} or ${present[0]}`,
  });
}

/**
 * A database bound to a `tls: true` sandbox is verified against that sandbox's own CA, which the
 * driver keeps in its directory (tls/ca.crt): its absolute path goes to DB_SSL_CA and DB_SSL_ROOT_CERT
 * (REDIS_SSL_CA for a cache bound to one).
 */
function withSandboxCa(resolved: ResolvedEnvironment | undefined, sandboxRoot: string): void {
  const db = resolved?.connections.database;
  const bound = db?.sandbox ? resolved!.sandboxes[db.sandbox] : undefined;
  if (db && bound?.tls && db.ssl_ca === undefined) db.ssl_ca = path.join(sandboxRoot, resolved!.environment, bound.name, 'tls', 'ca.crt');
  const cache = resolved?.connections.cache;
  const cacheBound = cache?.sandbox ? resolved!.sandboxes[cache.sandbox] : undefined;
  if (cache && cacheBound?.tls) cache.ssl_ca = path.join(sandboxRoot, resolved!.environment, cacheBound.name, 'tls', 'ca.crt');
}

export async function loadEnvironment(opts: LoadOptions): Promise<LoadResult> {
  const { root, environment } = opts;
  const badName = invalidEnvironmentName(root, environment);
  if (badName) return { diagnostics: [badName] };
  const duplicate = duplicateManifest(root, environment);
  if (duplicate) return { diagnostics: [duplicate] };
  const file = manifestFile(root, environment);
  if (!file) return { diagnostics: [unknownEnvironment(root, environment)] };
  let text: string | undefined;
  try {
    text = readProjectText(path.join(root, file), file, MAX_MANIFEST_BYTES, 'manifests');
  } catch (error) {
    if (error instanceof DiagnosticError) {
      const tooLarge = error.diagnostics.some((d) => d.code === 'file.too-large');
      return { file, diagnostics: tooLarge ? [tooLargeDiagnostic(file, statSync(path.join(root, file)).size)] : error.diagnostics };
    }
    throw error;
  }
  if (text === undefined) return { diagnostics: [unknownEnvironment(root, environment)] };

  const dotenvDiagnostics: Diagnostic[] = [];
  const variables = readVariables(root, environment, opts.env ?? process.env, dotenvDiagnostics);
  const result = resolveManifest({
    text,
    file,
    environment,
    root,
    variables,
    allowMissingVariables: opts.allowMissingVariables,
    placeholders: opts.placeholders,
    salt: opts.salt,
  });
  const diagnostics = [...dotenvDiagnostics, ...result.diagnostics];
  // Where the drivers keep this environment's sandboxes (IACT_SANDBOX_ROOT may come from its .env files).
  const sandboxes = () =>
    projectPaths(root, opts.env ?? process.env, sandboxRootSetting(root, environment, opts.env ?? process.env)).sandboxes;
  if (result.resolved && !hasErrors(result.diagnostics)) {
    // What the manifest leaves to the machine: init files as they are now, the port and password kept at the first apply.
    diagnostics.push(...(await resolveInitFiles(result.resolved)));
    await withKept(sandboxes(), result.resolved);
  }
  withSandboxCa(result.resolved, sandboxes());
  return { ...result, diagnostics, file };
}

/**
 * .iact/salt (made once, 0600): the key of the variables' hashes in plans. Where .iact/ cannot be
 * written (a read-only checkout), the hashes fall back to the unkeyed form.
 */
export function projectSalt(root: string): string {
  const file = path.join(root, '.iact', 'salt');
  const read = (): string => readFileSync(file, 'utf8').trim();
  try {
    return read();
  } catch {
    // not made yet
  }
  try {
    const { randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o711 });
    // Written aside, then linked into place: no reader ever sees it half-written, and the first iact wins.
    const aside = `${file}.${process.pid}`;
    writeFileSync(aside, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    try {
      linkSync(aside, file);
    } finally {
      rmSync(aside, { force: true });
    }
  } catch {
    // another iact made it first (EEXIST), or .iact/ is read-only
  }
  try {
    return read();
  } catch {
    return '';
  }
}

/** .env.example of the project root, parsed ({} when absent). */
export function readEnvExample(root: string): Record<string, string> {
  return readDotenvFile(root, '.env.example');
}
