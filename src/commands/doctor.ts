// iact doctor: what each driver needs and whether this machine has it, with the fix; inside a
// project, also each docker engine and the ssh client its manifests name (docs/remote-engines.md).
import { enginesOf, probeEngines, probeSsh } from '../doctor/engines.js';
import { doctorJson, defaultDriverUsable, renderDoctorText } from '../doctor/render.js';
import { probeMachine, scriptPath } from '../doctor/probes.js';
import type { CheckResult } from '../doctor/types.js';
import { listEnvironments, loadEnvironment, readEnvExample } from '../io/load.js';
import type { ResolvedEnvironment } from '../model/types.js';
import { findProjectRoot } from '../project.js';
import type { CommandIO } from './io.js';

/** The environments of the project around cwd that resolve (a broken manifest is validate's to report). */
async function projectEnvironments(io: CommandIO): Promise<{ root: string; environments: ResolvedEnvironment[] } | undefined> {
  let root: string;
  try {
    root = findProjectRoot(io.cwd);
  } catch {
    return undefined;
  }
  const placeholders = readEnvExample(root);
  const environments: ResolvedEnvironment[] = [];
  for (const environment of listEnvironments(root)) {
    const result = await loadEnvironment({ root, environment, env: io.env, placeholders }).catch(() => undefined);
    if (result?.resolved) environments.push(result.resolved);
  }
  return { root, environments };
}

export default async function doctor(opts: Record<string, unknown>, io: CommandIO): Promise<number> {
  const project = await projectEnvironments(io);
  const [machine, named] = await Promise.all([
    probeMachine({ env: io.env, uid: process.getuid?.() ?? -1 }),
    project
      ? Promise.all([
          probeEngines(namedEngines(project.environments, io.env), project.root, io.env, scriptPath('docker-images.sh')),
          probeSsh(project.environments, io.env),
        ]).then((r) => r.flat())
      : Promise.resolve([] as CheckResult[]),
  ]);
  const results = [...machine, ...named];
  if (opts.json) io.stdout(`${JSON.stringify(doctorJson(results), null, 2)}\n`);
  else io.stdout(renderDoctorText(results, { color: io.color }));
  // What the manifests name and is missing fails doctor too: apply would fail on it.
  return defaultDriverUsable(results) && !named.some((r) => r.state === 'missing') ? 0 : 1;
}

/** Engines a manifest names, or a remote DOCKER_HOST; the local engine is probeMachine's docker-engine check. */
function namedEngines(environments: ResolvedEnvironment[], env: NodeJS.ProcessEnv) {
  const remoteEnv = /^(tcp|ssh):\/\//.test(env.DOCKER_HOST ?? '');
  return enginesOf(environments, env).filter((use) => use.engine?.host || use.engine?.context || remoteEnv);
}
