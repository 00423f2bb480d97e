// `iact doctor` for what the project's manifests name (docs/remote-engines.md "Checking an engine"):
// each docker engine (reachable, its TLS files valid, the images its sandboxes run present) and the
// ssh client tunnels and ssh:// engines need. Each engine is asked once, in parallel, with a timeout.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CATALOG, defaultImage } from '../catalog/index.js';
import { POSTGRES_MAJORS } from '../install/postgres.js';
import { which } from '../io/which.js';
import type { DockerEngine, ResolvedEnvironment } from '../model/types.js';
import type { CheckResult } from './types.js';

/** One engine the manifests name, with the images and sandboxes that use it. */
export interface EngineUse {
  /** How doctor names it: its host, `context NAME`, or `DOCKER_HOST ...` / `the local engine`. */
  label: string;
  engine?: DockerEngine;
  images: Set<string>;
  sandboxes: string[];
}

/** The engines of docker sandboxes in these environments, each once (same host/context/TLS files). */
export function enginesOf(environments: readonly ResolvedEnvironment[], env: NodeJS.ProcessEnv): EngineUse[] {
  const byKey = new Map<string, EngineUse>();
  for (const resolved of environments) {
    for (const sb of Object.values(resolved.sandboxes)) {
      if (sb.driver !== 'docker' || sb.service === 'none') continue;
      const e = sb.engine;
      const key = JSON.stringify([e?.host, e?.context, e?.tls?.ca, e?.tls?.cert, e?.tls?.key]);
      let use = byKey.get(key);
      if (!use) {
        const label =
          e?.host ?? (e?.context ? `context ${e.context}` : env.DOCKER_HOST ? `DOCKER_HOST ${env.DOCKER_HOST}` : 'the local engine');
        use = { label, engine: e, images: new Set(), sandboxes: [] };
        byKey.set(key, use);
      }
      const entry = CATALOG[sb.service];
      const image = sb.image ?? (entry ? defaultImage(entry, sb.version) : undefined);
      if (image) use.images.add(image);
      use.sandboxes.push(`${resolved.environment}/${sb.name}`);
    }
  }
  return [...byKey.values()];
}

interface Captured {
  ok: boolean;
  stdout: string;
  stderr: string;
}

function capture(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Captured> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      resolve({ ok: !error, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const DAY_MS = 86_400_000;

/** The docker CLI's flags and environment for an engine: what bash/lib/docker.sh gives every call. */
function cliFor(
  use: EngineUse,
  root: string,
  env: NodeJS.ProcessEnv,
): { args: string[]; env: NodeJS.ProcessEnv; tls?: { ca: string; cert: string; key: string } } {
  const e = use.engine;
  const out: NodeJS.ProcessEnv = { ...env };
  const args: string[] = [];
  if (e?.host) {
    out.DOCKER_HOST = e.host;
    delete out.DOCKER_CONTEXT;
  } else if (e?.context) {
    delete out.DOCKER_HOST;
    out.DOCKER_CONTEXT = e.context;
  }
  if (e?.tls) {
    const abs = (p: string) => path.resolve(root, p);
    const tls = { ca: abs(e.tls.ca), cert: abs(e.tls.cert), key: abs(e.tls.key) };
    delete out.DOCKER_TLS_VERIFY;
    delete out.DOCKER_CERT_PATH;
    args.push('--tlsverify', '--tlscacert', tls.ca, '--tlscert', tls.cert, '--tlskey', tls.key);
    return { args, env: out, tls };
  }
  return { args, env: out };
}

/** What scripts/docker-images.sh takes to build IMAGE: the service, or postgres@16 for another PostgreSQL major. */
function imagesTarget(image: string): string[] {
  const entry = Object.values(CATALOG).find((e) => e.docker?.imageRepo && image.startsWith(`${e.docker.imageRepo}:`));
  if (!entry) return [];
  const tag = image.slice(image.lastIndexOf(':') + 1);
  if (entry.name === 'postgres' && image !== defaultImage(entry) && (POSTGRES_MAJORS as readonly number[]).includes(Number(tag))) {
    return [`postgres@${tag}`];
  }
  return [entry.name];
}

/** How to run scripts/docker-images.sh against this engine. */
function imagesFix(use: EngineUse, script: string, services: string[], tls?: { ca: string; cert: string; key: string }): string {
  const e = use.engine;
  // Another PostgreSQL major's image is made from the binaries `iact install` fetched (docs/operators.md).
  const first = services
    .filter((t) => t.startsWith('postgres@'))
    .map((t) => `iact install ${t}, then `)
    .join('');
  const run = `${script} ${services.join(' ')}`.trim();
  if (e?.host && tls) {
    const dir = path.dirname(tls.ca);
    const sameDir =
      [tls.cert, tls.key].every((f) => path.dirname(f) === dir) && ['ca', 'cert', 'key'].every((n) => tls[n as 'ca'].endsWith(`/${n}.pem`));
    return sameDir
      ? `${first}DOCKER_HOST=${e.host} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${dir} ${run}`
      : `${first}put the TLS files in one directory as ca.pem, cert.pem, key.pem, then DOCKER_HOST=${e.host} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=DIR ${run}`;
  }
  if (e?.host) return `${first}DOCKER_HOST=${e.host} ${run}`;
  if (e?.context) return `${first}DOCKER_CONTEXT=${e.context} ${run}`;
  return `${first}${run}`;
}

/** The certificate files: readable, in date, the client certificate issued by the CA file. */
async function tlsProblems(tls: {
  ca: string;
  cert: string;
  key: string;
}): Promise<{ state: 'missing' | 'warning'; found: string; fix: string } | undefined> {
  const read = async (file: string) => readFile(file).catch(() => undefined);
  const [ca, cert, key] = await Promise.all([read(tls.ca), read(tls.cert), read(tls.key)]);
  const unreadable = [
    [tls.ca, ca],
    [tls.cert, cert],
    [tls.key, key],
  ].filter(([, data]) => data === undefined);
  if (unreadable.length > 0) {
    return {
      state: 'missing',
      found: `cannot read ${unreadable.map(([file]) => file).join(', ')}`,
      fix: 'fix engine.tls in the manifest: the paths are relative to the project root (docs/remote-engines.md)',
    };
  }
  let caCert: X509Certificate;
  let clientCert: X509Certificate;
  try {
    caCert = new X509Certificate(ca!);
    clientCert = new X509Certificate(cert!);
  } catch (error) {
    return {
      state: 'missing',
      found: `not a PEM certificate: ${(error as Error).message}`,
      fix: 'point engine.tls at the PEM files the engine was set up with',
    };
  }
  const now = Date.now();
  const dated = [
    ['the CA certificate', caCert, tls.ca],
    ['the client certificate', clientCert, tls.cert],
  ] as const;
  for (const [what, c, file] of dated) {
    if (Date.parse(c.validTo) < now) {
      return {
        state: 'missing',
        found: `${what} ${file} expired on ${c.validTo}`,
        fix: 'make a new one (docs/remote-engines.md "TLS certificates")',
      };
    }
  }
  if (!clientCert.checkIssued(caCert)) {
    return {
      state: 'missing',
      found: `the client certificate ${tls.cert} was not issued by the CA ${tls.ca}`,
      fix: 'use the CA and client certificate made together for this engine (docs/remote-engines.md "TLS certificates")',
    };
  }
  for (const [what, c, file] of dated) {
    if (Date.parse(c.validTo) - now < 14 * DAY_MS) {
      return {
        state: 'warning',
        found: `${what} ${file} expires on ${c.validTo}`,
        fix: 'make a new one before then (docs/remote-engines.md "TLS certificates")',
      };
    }
  }
  return undefined;
}

/** What a failed `docker info` said, in words a user can act on. */
function explain(stderr: string, use: EngineUse, tls?: { ca: string }): { found: string; fix: string } {
  const text = stderr.replace(/\s+/g, ' ').trim();
  if (/certificate signed by unknown authority|x509: .*unknown authority/i.test(text)) {
    return {
      found: `the engine's certificate is not signed by the CA ${tls?.ca ?? ''}`.trim(),
      fix: "engine.tls.ca must be the CA that signed the engine's server certificate (docs/remote-engines.md)",
    };
  }
  if (/certificate has expired|certificate is not yet valid/i.test(text)) {
    return { found: "the engine's server certificate has expired", fix: "renew the engine's server certificate and restart its dockerd" };
  }
  if (/bad certificate|unknown certificate authority|certificate required/i.test(text)) {
    return {
      found: 'the engine refused the client certificate',
      fix: "use a client certificate signed by the CA the engine's --tlscacert names",
    };
  }
  if (/x509: certificate is valid for/i.test(text)) {
    return {
      found: `the engine's certificate does not name ${use.label}`,
      fix: 'use the name or address its certificate was made for, or make it a certificate with that subjectAltName',
    };
  }
  if (/context .* does not exist|context not found/i.test(text)) {
    return {
      found: `docker context ${use.engine?.context} does not exist`,
      fix: 'docker context ls; create it with docker context create',
    };
  }
  return {
    found: `not reachable: ${text.slice(0, 200) || 'no answer'}`,
    fix: `check the network to it and that its dockerd runs (docs/remote-engines.md)`,
  };
}

export async function probeEngines(
  uses: readonly EngineUse[],
  root: string,
  env: NodeJS.ProcessEnv,
  imagesScript: string,
): Promise<CheckResult[]> {
  const cli = await which('docker', env);
  const out = await Promise.all(
    uses.map(async (use, i): Promise<CheckResult[]> => {
      const id = `engine-${i + 1}`;
      const need = `engine ${use.label}`;
      const base = { driver: 'docker' as const, required: false };
      if (!cli) return [{ ...base, id, need, state: 'missing', found: 'not checked: no docker CLI', fix: 'apt-get install docker.io' }];
      const { args, env: cliEnv, tls } = cliFor(use, root, env);
      const results: CheckResult[] = [];
      if (tls) {
        const problem = await tlsProblems(tls);
        results.push(
          problem
            ? { ...base, id: `${id}-tls`, need: `TLS files of ${use.label}`, ...problem }
            : {
                ...base,
                id: `${id}-tls`,
                need: `TLS files of ${use.label}`,
                state: 'ok',
                found: 'readable, in date, client certificate issued by the CA',
              },
        );
      }
      const info = await capture(cli, [...args, 'info', '--format', '{{.ServerVersion}}'], cliEnv, 8000);
      if (!info.ok || info.stdout.trim() === '') {
        const why = explain(info.stderr, use, tls);
        results.push({ ...base, id, need, state: 'missing', found: `${why.found} (used by ${use.sandboxes.join(', ')})`, fix: why.fix });
        return results;
      }
      results.push({ ...base, id, need, state: 'ok', found: `docker ${info.stdout.trim()}, for ${use.sandboxes.join(', ')}` });
      const images = [...use.images].sort();
      const present = await Promise.all(
        images.map((image) => capture(cli, [...args, 'image', 'inspect', '--format', '{{.Id}}', image], cliEnv, 8000)),
      );
      const missing = images.filter((_, j) => !present[j]!.ok);
      const services = [...new Set(missing.flatMap(imagesTarget))].sort();
      results.push(
        missing.length === 0
          ? { ...base, id: `${id}-images`, need: `images on ${use.label}`, state: 'ok', found: images.join(', ') || 'none needed' }
          : {
              ...base,
              id: `${id}-images`,
              need: `images on ${use.label}`,
              state: 'missing',
              found: `missing: ${missing.join(', ')}`,
              fix: imagesFix(use, imagesScript, services, tls),
            },
      );
      return results;
    }),
  );
  return out.flat();
}

/** ssh for tunnel sandboxes and ssh:// engines: the client is all that is needed here. */
export async function probeSsh(environments: readonly ResolvedEnvironment[], env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const users: string[] = [];
  for (const resolved of environments) {
    for (const sb of Object.values(resolved.sandboxes)) {
      if (sb.service === 'tunnel' || (sb.driver === 'docker' && sb.engine?.host?.startsWith('ssh://')))
        users.push(`${resolved.environment}/${sb.name}`);
    }
  }
  if (users.length === 0) return [];
  const ssh = await which('ssh', env);
  return [
    ssh
      ? {
          driver: 'lightweight',
          id: 'ssh-client',
          need: 'ssh client',
          state: 'ok',
          found: `${ssh}, for ${users.join(', ')}`,
          required: false,
        }
      : {
          driver: 'lightweight',
          id: 'ssh-client',
          need: 'ssh client',
          state: 'missing',
          found: `ssh not found on PATH; ${users.join(', ')} need it`,
          fix: 'apt-get install openssh-client',
          required: false,
        },
  ];
}
