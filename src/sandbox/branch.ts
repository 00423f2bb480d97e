// Where a branch starts (docs/data.md "Branches"): `SANDBOX[@SNAPSHOT]` of a project's environment,
// resolved to the source's sandbox root and service. Reads the sandbox directory, no process runs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isService, type ServiceKind } from '../catalog/index.js';
import { DiagnosticError, diag } from '../diagnostics.js';
import type { BranchSource } from '../drivers/types.js';
import { detectEnvironmentIn } from '../io/detect.js';
import { findProjectRoot, projectPaths } from '../project.js';

/** SANDBOX or SANDBOX@SNAPSHOT; snapshot names as bash/lib/storage.sh accepts them. */
export const BRANCH_SOURCE_RE = /^([a-z][a-z0-9-]{0,62})(?:@([a-z0-9][a-z0-9._-]{0,62}))?$/;

export function parseBranchRef(ref: string): { sandbox: string; snapshot?: string } {
  const m = BRANCH_SOURCE_RE.exec(ref);
  if (!m || ref.includes('..')) {
    throw new DiagnosticError(
      diag(`'${ref}' is not SANDBOX or SANDBOX@SNAPSHOT`, {
        fix: 'e.g. --from db, or --from db@before-migration (iact snapshot --list shows the snapshots)',
      }),
    );
  }
  return { sandbox: m[1]!, ...(m[2] ? { snapshot: m[2] } : {}) };
}

export interface BranchProject {
  /** Project root; default: the nearest ancestor of cwd with environments/. */
  dir?: string;
  /** Environment of the source; default: detected as the CLI does. */
  env?: string;
  cwd?: string;
  variables?: NodeJS.ProcessEnv;
}

/** A sandbox's driver and service from its .meta ("driver service port version", docs/driver-protocol.md); undefined when there is none. */
export async function readMeta(
  sandboxRoot: string,
  environment: string,
  name: string,
): Promise<{ driver: string; service: string } | undefined> {
  try {
    const [driver = '', service = ''] = (await readFile(path.join(sandboxRoot, environment, name, '.meta'), 'utf8')).split(/\s+/);
    return { driver, service };
  } catch {
    return undefined;
  }
}

/** The source of `ref` in the project, and the service its data belongs to. */
export async function resolveBranchSource(
  ref: string | BranchSource,
  project: BranchProject = {},
): Promise<{ source: BranchSource; service: ServiceKind }> {
  let source: BranchSource;
  if (typeof ref === 'string') {
    const variables = project.variables ?? process.env;
    const root = findProjectRoot(project.cwd ?? process.cwd(), project.dir);
    const environment = project.env ?? detectEnvironmentIn(root, { env: variables }).name;
    source = { ...parseBranchRef(ref), environment, root: projectPaths(root, variables).sandboxes };
  } else {
    source = ref;
  }
  const where = `${source.sandbox}${source.snapshot ? `@${source.snapshot}` : ''} in ${source.environment}`;
  const envDir = path.join(source.root, source.environment);
  let service: string | undefined;
  try {
    if (source.snapshot) {
      const record = JSON.parse(
        await readFile(path.join(envDir, '.snapshots', source.sandbox, source.snapshot, 'snapshot.json'), 'utf8'),
      ) as { service?: string };
      service = record.service;
    } else {
      service = (await readMeta(source.root, source.environment, source.sandbox))?.service;
      if (service === undefined) throw new Error('no .meta');
    }
  } catch {
    throw new DiagnosticError(
      diag(`there is no ${source.snapshot ? 'snapshot' : 'sandbox'} ${where} to branch from`, {
        fix: source.snapshot
          ? `iact snapshot --list ${source.sandbox} shows its snapshots; take one with iact snapshot ${source.sandbox} ${source.snapshot}`
          : `iact apply creates it; iact status lists the sandboxes of ${source.environment}`,
      }),
    );
  }
  if (!service || !isService(service) || service === 'none') {
    throw new DiagnosticError(diag(`${where} holds no service data to branch from`, { fix: 'branch a postgres, mysql or redis sandbox' }));
  }
  return { source, service };
}
