// I/O edge of `extensions:` (docs/data.md "Extensions"): which PostgreSQL extensions this machine
// can create, read from the control files in the share directory of the bin dir the drivers use.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { CATALOG } from '../catalog/index.js';
import type { ResolvedEnvironment } from '../model/types.js';
import type { PlanNotice } from '../plan/types.js';

export interface InstalledExtensions {
  /** Major version of the PostgreSQL these belong to. */
  version: string;
  /** The directory of their control files. */
  dir: string;
  names: string[];
}

const PG_LIB = '/usr/lib/postgresql';

/** The extensions of PostgreSQL VERSION (the newest installed without one), as bash/lib/services.sh picks its bin dir. */
export async function installedExtensions(version?: string): Promise<InstalledExtensions | undefined> {
  let major = version?.split('.')[0];
  if (major === undefined) {
    const versions = (await readdir(PG_LIB).catch(() => [] as string[]))
      .filter((v) => /^[0-9]+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    major = versions[0];
  }
  if (major === undefined) return undefined;
  const bin = path.join(PG_LIB, major, 'bin');
  // Debian's layout first, then the share directory next to a bin dir (a source build's).
  for (const dir of [
    `/usr/share/postgresql/${major}/extension`,
    path.join(bin, '..', 'share', 'postgresql', 'extension'),
    path.join(bin, '..', 'share', 'extension'),
  ]) {
    const files = await readdir(dir).catch(() => undefined);
    if (!files) continue;
    const names = files
      .filter((f) => f.endsWith('.control'))
      .map((f) => f.slice(0, -'.control'.length))
      .sort();
    return { version: major, dir, names };
  }
  return undefined;
}

// Debian packages of extensions outside postgresql-contrib whose package name is not the extension's.
const PACKAGE_OF: Readonly<Record<string, string>> = {
  vector: 'pgvector',
  postgis: 'postgis-3',
  postgis_topology: 'postgis-3',
  postgis_raster: 'postgis-3',
};

/** The apt command that installs an extension for PostgreSQL MAJOR. */
export function extensionInstallHint(name: string, major: string): string {
  return `apt-get install -y postgresql-${major}-${PACKAGE_OF[name] ?? name} (the contrib modules come with postgresql-contrib)`;
}

/** One error notice per extension a sandbox asks for that this machine lacks: a plan that cannot be applied says so. */
export async function missingExtensionNotices(resolved: ResolvedEnvironment): Promise<PlanNotice[]> {
  const wanting = Object.values(resolved.sandboxes).filter(
    (sb) => CATALOG[sb.service].extensions === true && (sb.extensions?.length ?? 0) > 0,
  );
  const notices: PlanNotice[] = [];
  for (const sb of wanting) {
    const installed = await installedExtensions(sb.version);
    const have = new Set(installed?.names ?? []);
    for (const name of sb.extensions ?? []) {
      if (have.has(name)) continue;
      const major = installed?.version ?? sb.version?.split('.')[0] ?? '15';
      notices.push({
        severity: 'error',
        summary: `extension ${name} of sandbox.${sb.name} is not installed for PostgreSQL ${major}`,
        detail: installed
          ? `no ${name}.control in ${installed.dir}`
          : `no PostgreSQL ${sb.version ?? ''} share directory found`.replace('  ', ' '),
        fix: `${extensionInstallHint(name, major)}; \`iact doctor\` lists the extensions this machine has`,
      });
    }
  }
  return notices;
}
