// The service catalogue (docs/service-catalogue.md): everything that differs per service, declared
// once. TypeScript reads it here; scripts/gen-catalog.mjs renders it into bash/lib/catalog.sh. Pure.
import { mysql } from './mysql.js';
import { none } from './none.js';
import { postgres } from './postgres.js';
import { redis } from './redis.js';
import { tunnel } from './tunnel.js';
import type { ConnectionField, ServiceEntry } from './types.js';

export type { BinaryNeed, ClientEntry, ConnectionField, ServiceEntry } from './types.js';

export const SERVICES = ['postgres', 'mysql', 'redis', 'none', 'tunnel'] as const;
export type ServiceKind = (typeof SERVICES)[number];

export const CATALOG: Readonly<Record<ServiceKind, ServiceEntry>> = { postgres, mysql, redis, none, tunnel };

/** The services that run a server of their own (not `none`, not a `tunnel` to one elsewhere), in catalogue order. */
export const SERVER_SERVICES: readonly ServiceKind[] = SERVICES.filter((s) => CATALOG[s].process && CATALOG[s].connection !== undefined);

export function isService(name: string): name is ServiceKind {
  return (SERVICES as readonly string[]).includes(name);
}

/** The entry of a service; undefined for a name the catalogue does not know (a hand-edited sandbox.json). */
export function serviceEntry(name: string): ServiceEntry | undefined {
  return isService(name) ? CATALOG[name] : undefined;
}

/** Services a connection of this kind may be bound to (connections.database -> postgres, mysql). */
export function servicesServing(kind: 'database' | 'cache'): ServiceKind[] {
  return SERVICES.filter((s) => CATALOG[s].serves === kind);
}

/** Setting keys compare with '-' and '_' folded, as the servers do. */
export const foldSettingKey = (key: string): string => key.replace(/-/g, '_');

export function isReloadable(service: string, key: string): boolean {
  const folded = foldSettingKey(key);
  return (serviceEntry(service)?.reloadable ?? []).some((k) => foldSettingKey(k) === folded);
}

export function isReserved(service: string, key: string): boolean {
  return (serviceEntry(service)?.reserved ?? []).includes(foldSettingKey(key));
}

/** True when a manifest may set KEY for SERVICE: on the catalogue's allow-list, '-' and '_' folded. */
export function isAllowedSetting(service: string, key: string): boolean {
  const allowed = serviceEntry(service)?.settings;
  if (allowed === undefined) return false;
  const folded = foldSettingKey(key);
  // Keys iact owns are refused even where any other key goes (bash/lib/validate.sh checks them first too).
  if (serviceEntry(service)!.reserved.some((k) => foldSettingKey(k) === folded)) return false;
  return allowed === 'any' || allowed.some((k) => foldSettingKey(k) === folded);
}

/** Debian packages that install every binary of the service, without repeats. */
export function packagesOf(entry: ServiceEntry): string[] {
  return [...new Set(entry.binaries.map((b) => b.package))];
}

/** One command that installs the service's binaries; '' for `none`. */
export function installHint(entry: ServiceEntry): string {
  const packages = packagesOf(entry);
  return packages.length === 0 ? '' : `apt-get install -y ${packages.join(' ')}`;
}

/** The image the docker driver runs when the manifest names none (scripts/docker-images.sh builds these). */
export function defaultImage(entry: ServiceEntry, version?: string): string | undefined {
  if (!entry.docker) return undefined;
  const base = entry.defaultVersion;
  const tag = version === undefined || version === base || (base !== undefined && version.startsWith(`${base}.`)) ? base : version;
  return tag === undefined ? undefined : `${entry.docker.imageRepo}:${tag}`;
}

/** Values of a connection: what the variables of `connection.env` hold. */
export type ConnectionValues = Record<Exclude<ConnectionField, 'url'>, string>;

/** The URL of a connection: the template with every {field} URL-encoded. */
export function connectionUrl(entry: ServiceEntry, values: ConnectionValues, tls = false): string {
  const template = (tls ? entry.connection?.tls?.urlTemplate : undefined) ?? entry.connection?.urlTemplate ?? '';
  return template.replace(/\{(\w+)\}/g, (_, field: string) => encodeURIComponent(values[field as keyof ConnectionValues] ?? ''));
}

/** The variables `iact run` and bin/activate export for a sandbox of this service. */
export function connectionEnv(entry: ServiceEntry, values: ConnectionValues, tlsCa?: string): Record<string, string> {
  const url = connectionUrl(entry, values, tlsCa !== undefined);
  const env: Record<string, string> = {};
  for (const [key, field] of Object.entries(entry.connection?.env ?? {})) env[key] = field === 'url' ? url : values[field];
  // A tls: true sandbox: the variables that make clients verify it against its own CA.
  if (tlsCa !== undefined)
    for (const [key, value] of Object.entries(entry.connection?.tls?.env ?? {})) env[key] = value.replace(/\{ca\}/g, tlsCa);
  env.IACT_SANDBOX = values.sandbox;
  return env;
}
