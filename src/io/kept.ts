// I/O edge of the kept values (docs/data.md "Minimal manifests"): the port a driver recorded in a
// sandbox's `.meta` and the password in its `secrets/password` (0600), for the sandboxes whose
// manifest leaves them to iact. src/manifest/kept.ts puts them into the model.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { generatesPassword, sandboxesChoosingValues, settleKept, type KeptValues } from '../manifest/kept.js';
import { PORT_CHOSEN_AT_APPLY, type ResolvedEnvironment } from '../model/types.js';

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined; // not made yet (first apply), or not ours to read: chosen at apply
  }
}

/** The kept port and password of each sandbox that leaves them to iact; nothing read for the others. */
export async function readKept(sandboxRoot: string, resolved: ResolvedEnvironment): Promise<Record<string, KeptValues>> {
  const out: Record<string, KeptValues> = {};
  await Promise.all(
    sandboxesChoosingValues(resolved).map(async (sb) => {
      const dir = path.join(sandboxRoot, resolved.environment, sb.name);
      const values: KeptValues = {};
      if (sb.port === PORT_CHOSEN_AT_APPLY) {
        // .meta: "driver service port version" (bash/lib/sandbox.sh sb::write_files).
        const [, service, port] = ((await readOrUndefined(path.join(dir, '.meta'))) ?? '').trim().split(/\s+/);
        if (service === sb.service && port && /^[0-9]+$/.test(port)) values.port = Number(port);
      }
      if (generatesPassword(sb)) {
        const password = await readOrUndefined(path.join(dir, 'secrets', 'password'));
        if (password) values.password = password;
      }
      if (values.port !== undefined || values.password !== undefined) out[sb.name] = values;
    }),
  );
  return out;
}

/** `resolved` with the kept values filled in. */
export async function withKept(sandboxRoot: string, resolved: ResolvedEnvironment): Promise<ResolvedEnvironment> {
  if (sandboxesChoosingValues(resolved).length === 0) return resolved;
  return settleKept(resolved, await readKept(sandboxRoot, resolved));
}
