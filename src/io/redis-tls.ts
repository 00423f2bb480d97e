// I/O edge of `tls: true` for redis (docs/operators.md "TLS sandboxes"): whether this machine's
// redis-server is built with TLS, which the drivers (bash/lib/services.sh svc::redis_has_tls) and
// the docker images (scripts/docker-images.sh copies the host's binary) rely on.
import { readFile } from 'node:fs/promises';
import type { ResolvedEnvironment } from '../model/types.js';
import type { PlanNotice } from '../plan/types.js';
import { which } from './which.js';

/** True when the binary knows the tls-* directives (a build with BUILD_TLS=yes), as the drivers ask. */
export async function redisServerHasTls(file: string): Promise<boolean> {
  try {
    return (await readFile(file)).includes('tls-cert-file');
  } catch {
    return false;
  }
}

/** An error notice per `tls: true` redis sandbox this machine's redis-server cannot serve (not for a docker image of the manifest's own). */
export async function redisWithoutTlsNotices(resolved: ResolvedEnvironment, env: NodeJS.ProcessEnv): Promise<PlanNotice[]> {
  const wanting = Object.values(resolved.sandboxes).filter((sb) => sb.service === 'redis' && sb.tls === true && sb.image === undefined);
  if (wanting.length === 0) return [];
  const server = await which('redis-server', env);
  // Missing altogether: the preflight and create say so with the install hint.
  if (!server || (await redisServerHasTls(server))) return [];
  return wanting.map((sb) => ({
    severity: 'error' as const,
    summary: `sandbox.${sb.name} sets tls: true, and ${server} is built without TLS`,
    detail: 'redis-server knows no tls-* directive: it was built without BUILD_TLS=yes',
    fix: "apt-get install -y redis-server (Debian's is built with TLS), or remove tls: from the sandbox",
  }));
}
