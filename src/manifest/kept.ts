// Pure: a sandbox whose manifest omits its port or password gets the ones iact chose at its first
// apply and kept on the machine (docs/data.md "Minimal manifests"). The loader reads them
// (src/io/kept.ts); this puts them where the model, the connections and the secret lists expect them.
import { serviceEntry } from '../catalog/index.js';
import { PORT_CHOSEN_AT_APPLY, type ResolvedEnvironment, type SandboxSpec } from '../model/types.js';

/** What the machine keeps for a sandbox: the port in its `.meta`, the password in `secrets/password`. */
export interface KeptValues {
  port?: number;
  password?: string;
}

/** The sandboxes whose port or password iact chooses: the loader reads the kept values of these only. */
export function sandboxesChoosingValues(resolved: ResolvedEnvironment): SandboxSpec[] {
  return Object.values(resolved.sandboxes).filter((sb) => sb.port === PORT_CHOSEN_AT_APPLY || generatesPassword(sb));
}

/** Its password is iact's to generate: the service has one, the manifest gives none and does not turn auth off. */
export function generatesPassword(sb: SandboxSpec): boolean {
  return sb.password === undefined && sb.auth !== false && (serviceEntry(sb.service)?.needsPassword ?? false);
}

/**
 * Fills the kept values into `resolved` (just made by the loader, so changed in place): the sandbox,
 * the connections bound to it, and the lists that keep a password masked everywhere.
 */
export function settleKept(resolved: ResolvedEnvironment, kept: Readonly<Record<string, KeptValues>>): ResolvedEnvironment {
  const sensitive = new Set(resolved.sensitivePaths);
  const secrets = new Set(resolved.secretValues);
  for (const [name, values] of Object.entries(kept)) {
    const sb = resolved.sandboxes[name];
    if (!sb) continue;
    const port = sb.port === PORT_CHOSEN_AT_APPLY ? values.port : undefined;
    const password = generatesPassword(sb) ? values.password : undefined;
    if (port !== undefined) sb.port = port;
    if (password !== undefined) {
      sb.password = password;
      sensitive.add(`sandboxes.${name}.password`);
      secrets.add(password);
    }
    const { database, cache } = resolved.connections;
    for (const [section, bound] of [
      ['database', database],
      ['cache', cache],
    ] as const) {
      if (bound?.sandbox !== name) continue;
      if (port !== undefined) bound.port = port;
      if (password !== undefined) {
        bound.password = password;
        sensitive.add(`connections.${section}.password`);
      }
    }
  }
  resolved.sensitivePaths = [...sensitive].sort();
  resolved.secretValues = [...secrets];
  return resolved;
}
