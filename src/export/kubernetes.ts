// Pure: an environment as Kubernetes objects (docs/kubernetes.md). No fs: src/commands/export.ts does the I/O.
import { stringify } from 'yaml';
import { CATALOG } from '../catalog/index.js';
import { connectionVariables } from '../config/render.js';
import { isSensitiveKey } from '../secrets/index.js';
import type { ResolvedEnvironment, SandboxSpec, ServiceKind, SettingValue } from '../model/types.js';

export type KubernetesOperator = 'cnpg';

export interface KubernetesExportOptions {
  /** `cnpg`: a postgres sandbox becomes a CloudNativePG Cluster instead of a StatefulSet. */
  operator?: KubernetesOperator;
  /** Emit the Secret objects with their values; otherwise only their names and keys, in comments. */
  includeSecrets: boolean;
}

export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; labels: Record<string, string> } } & Record<
  string,
  unknown
>;

/** One YAML document: the object, and the comment lines printed above it. */
export interface KubeDocument {
  comments: string[];
  object?: KubeObject;
}

export interface ExportProblem {
  summary: string;
  /** Dotted path in the manifest (sandboxes.NAME), for the diagnostic's location. */
  path: string;
  fix: string;
}

export interface KubernetesExport {
  documents: KubeDocument[];
  problems: ExportProblem[];
}

/** The services a cluster runs, each from its official public image (docs/kubernetes.md, "Images"). */
type ClusterService = 'postgres' | 'mysql' | 'redis';
const OFFICIAL_IMAGE: Readonly<Record<ClusterService, string>> = { postgres: 'postgres', mysql: 'mariadb', redis: 'redis' };

interface ServiceImage {
  repository: string;
  defaultVersion: string;
  port: number;
  dataPath: string;
}

/** The official image, with the default version, port and data path of the catalogue's docker facts. */
function serviceImage(service: ClusterService): ServiceImage {
  const entry = CATALOG[service];
  return {
    repository: OFFICIAL_IMAGE[service],
    defaultVersion: entry.defaultVersion ?? 'latest',
    port: entry.docker!.port,
    dataPath: entry.docker!.dataPath,
  };
}

const isClusterService = (service: ServiceKind): service is ClusterService => service in OFFICIAL_IMAGE;

/** CloudNativePG runs only its own operand images (they carry barman and the instance manager). */
const CNPG_IMAGE = 'ghcr.io/cloudnative-pg/postgresql';

/** The manifest has no disk size; each volume claim asks for this much (docs/kubernetes.md). */
export const STORAGE_SIZE = '1Gi';

/** uid and gid of the `redis` user in the official redis image. */
const REDIS_UID = 999;

const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'iact' } as const;

function labels(environment: string, sandbox?: string): Record<string, string> {
  return { ...MANAGED_BY, 'iact.dev/environment': environment, ...(sandbox ? { 'iact.dev/sandbox': sandbox } : {}) };
}

function selectorLabels(environment: string, sandbox: string): Record<string, string> {
  return { 'iact.dev/environment': environment, 'iact.dev/sandbox': sandbox };
}

/** The manifest's 512M is Kubernetes' 512Mi (the drivers read M as MiB, like docker). */
function kubeMemory(memory: string): string {
  return /[KMG]$/.test(memory) ? `${memory}i` : memory;
}

function imageOf(sandbox: SandboxSpec, service: ServiceImage): string {
  return sandbox.image ?? `${service.repository}:${sandbox.version ?? service.defaultVersion}`;
}

export const secretName = (sandbox: string): string => `${sandbox}-credentials`;
export const settingsName = (environment: string): string => `${environment}-settings`;

/** The in-cluster host apps reach a sandbox at: its Service, or CloudNativePG's read-write Service. */
function serviceHost(sandbox: SandboxSpec, opts: KubernetesExportOptions): string {
  return sandbox.service === 'postgres' && opts.operator === 'cnpg' ? `${sandbox.name}-rw` : sandbox.name;
}

/** Where a tunnel's server is on the network: its remote host, or the SSH server when that is loopback there. */
export function tunnelTarget(tunnel: SandboxSpec): { host: string; port: number } {
  const remote = tunnel.remote!;
  const loopback = remote.host === 'localhost' || remote.host === '::1' || remote.host.startsWith('127.');
  return { host: loopback && tunnel.ssh ? tunnel.ssh.host : remote.host, port: remote.port };
}

/** Environment variable that carries a secret-named setting into the container. */
const settingEnvName = (key: string): string => `IACT_SETTING_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

interface SandboxSecret {
  name: string;
  type: 'kubernetes.io/basic-auth' | 'Opaque';
  data: Record<string, string>;
}

/** What the sandbox's Secret holds: the user and password, and every setting named like a secret. */
function sandboxSecret(sandbox: SandboxSpec): SandboxSecret {
  const data: Record<string, string> = {};
  if (sandbox.user !== undefined) data.username = sandbox.user;
  data.password = sandbox.password ?? '';
  for (const [key, value] of secretSettings(sandbox)) data[key] = String(value);
  return { name: secretName(sandbox.name), type: sandbox.user !== undefined ? 'kubernetes.io/basic-auth' : 'Opaque', data };
}

function secretSettings(sandbox: SandboxSpec): [string, SettingValue][] {
  return Object.entries(sandbox.settings).filter(([key]) => isSensitiveKey(key));
}

function plainSettings(sandbox: SandboxSpec): [string, SettingValue][] {
  return Object.entries(sandbox.settings).filter(([key]) => !isSensitiveKey(key));
}

const fromSecret = (envName: string, secret: string, key: string) => ({
  name: envName,
  valueFrom: { secretKeyRef: { name: secret, key } },
});

/** A Secret left out of the export: its name, type and keys, and how to make it (docs/kubernetes.md). */
function secretComments(secret: SandboxSecret, how: string, command: string): string[] {
  return [
    `Secret ${secret.name} (${secret.type}, keys: ${Object.keys(secret.data).join(', ')}) is not exported (--include-secrets writes it).`,
    `Create it in the namespace first, ${how}:`,
    `  ${command}`,
  ];
}

function secretObject(environment: string, sandbox: string | undefined, secret: SandboxSecret): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secret.name, labels: labels(environment, sandbox) },
    type: secret.type,
    stringData: secret.data,
  };
}

function secretDocument(environment: string, sandbox: SandboxSpec, opts: KubernetesExportOptions): KubeDocument {
  const secret = sandboxSecret(sandbox);
  if (opts.includeSecrets)
    return { comments: [`sandbox ${sandbox.name}: its credentials`], object: secretObject(environment, sandbox.name, secret) };
  const username = secret.data.username === undefined ? '' : ` --from-literal=username=${secret.data.username}`;
  const others = Object.keys(secret.data).filter((k) => k !== 'username' && k !== 'password');
  const command = `printf '%s' "$PASSWORD" | kubectl create secret generic ${secret.name} --type=${secret.type}${username} --from-file=password=/dev/stdin`;
  const how = `the password on stdin rather than in argv${others.length > 0 ? ` (and ${others.join(', ')} likewise, each with --from-file=KEY=FILE)` : ''}`;
  return { comments: secretComments(secret, how, command) };
}

function resources(sandbox: SandboxSpec): Record<string, unknown> | undefined {
  if (sandbox.memory === undefined) return undefined;
  const memory = kubeMemory(sandbox.memory);
  return { requests: { memory }, limits: { memory } };
}

/**
 * Redis takes its password from a config file written at start, so it is in no argv and no object
 * but the Secret: printf is a shell builtin, and sed escapes it for redis.conf's double quotes.
 */
function redisStartScript(secretEnv: [string, string][]): string {
  const lines = secretEnv.map(
    ([key, env]) => `{ printf '${key} "'; printf '%s' "$${env}" | sed 's/[\\\\"]/\\\\&/g'; printf '"\\n'; } >> "$conf"`,
  );
  return [
    'set -eu',
    'umask 077',
    'conf="${TMPDIR:-/tmp}/iact-secrets.conf"',
    ': > "$conf"',
    ...lines,
    'exec redis-server "$conf" "$@"',
  ].join('\n');
}

interface Container {
  env: Record<string, unknown>[];
  command?: string[];
  args: string[];
  readinessProbe: Record<string, unknown>;
  podSecurityContext?: Record<string, unknown>;
}

function containerFor(sandbox: SandboxSpec): Container {
  const secret = secretName(sandbox.name);
  const secretSettingEnv = secretSettings(sandbox).map(([key]) => fromSecret(settingEnvName(key), secret, key));
  const probe = (command: string[]) => ({ exec: { command }, periodSeconds: 10, timeoutSeconds: 5 });
  switch (sandbox.service) {
    case 'postgres':
      return {
        env: [
          { name: 'POSTGRES_DB', value: sandbox.database ?? '' },
          { name: 'POSTGRES_USER', value: sandbox.user ?? '' },
          fromSecret('POSTGRES_PASSWORD', secret, 'password'),
          // A volume's root holds lost+found: initdb wants an empty directory below it.
          { name: 'PGDATA', value: `${serviceImage('postgres').dataPath}/pgdata` },
          ...secretSettingEnv,
        ],
        args: [
          ...plainSettings(sandbox).flatMap(([k, v]) => ['-c', `${k}=${String(v)}`]),
          ...secretSettings(sandbox).flatMap(([k]) => ['-c', `${k}=$(${settingEnvName(k)})`]),
        ],
        readinessProbe: probe(['pg_isready', '-h', '127.0.0.1', '-U', sandbox.user ?? '', '-d', sandbox.database ?? '']),
      };
    case 'mysql':
      return {
        env: [
          { name: 'MARIADB_DATABASE', value: sandbox.database ?? '' },
          { name: 'MARIADB_USER', value: sandbox.user ?? '' },
          fromSecret('MARIADB_PASSWORD', secret, 'password'),
          // As with the drivers, nobody logs in as root: its password is random and never shown.
          { name: 'MARIADB_RANDOM_ROOT_PASSWORD', value: '1' },
          ...secretSettingEnv,
        ],
        args: [
          ...plainSettings(sandbox).map(([k, v]) => `--${k}=${String(v)}`),
          ...secretSettings(sandbox).map(([k]) => `--${k}=$(${settingEnvName(k)})`),
        ],
        readinessProbe: probe(['healthcheck.sh', '--connect', '--innodb_initialized']),
      };
    case 'redis': {
      const secretEnv: [string, string][] = [
        ['requirepass', 'REDISCLI_AUTH'],
        ...secretSettings(sandbox).map(([k]): [string, string] => [k, settingEnvName(k)]),
      ];
      return {
        // redis-cli reads REDISCLI_AUTH, so the probe logs in without the password in its argv.
        env: [fromSecret('REDISCLI_AUTH', secret, 'password'), ...secretSettingEnv],
        command: ['sh', '-c', redisStartScript(secretEnv), 'redis-server'],
        args: ['--dir', serviceImage('redis').dataPath, ...plainSettings(sandbox).flatMap(([k, v]) => [`--${k}`, String(v)])],
        // redis-cli exits 0 on an error reply too: only PONG is ready.
        readinessProbe: probe(['sh', '-c', 'redis-cli ping | grep -q PONG']),
        // The start script bypasses the image's entrypoint, which would have dropped root.
        podSecurityContext: { runAsNonRoot: true, runAsUser: REDIS_UID, runAsGroup: REDIS_UID, fsGroup: REDIS_UID },
      };
    }
    default:
      throw new Error(`no container for service ${sandbox.service}`);
  }
}

function statefulSetDocuments(environment: string, sandbox: SandboxSpec & { service: ClusterService }): KubeDocument[] {
  const service = serviceImage(sandbox.service);
  const container = containerFor(sandbox);
  const selector = selectorLabels(environment, sandbox.name);
  const svc: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: sandbox.name, labels: labels(environment, sandbox.name) },
    spec: { selector, ports: [{ name: sandbox.service, port: service.port, targetPort: sandbox.service, protocol: 'TCP' }] },
  };
  const res = resources(sandbox);
  const sts: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: sandbox.name, labels: labels(environment, sandbox.name) },
    spec: {
      serviceName: sandbox.name,
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: labels(environment, sandbox.name) },
        spec: {
          ...(container.podSecurityContext ? { securityContext: container.podSecurityContext } : {}),
          containers: [
            {
              name: sandbox.service,
              image: imageOf(sandbox, service),
              ...(container.command ? { command: container.command } : {}),
              ...(container.args.length > 0 ? { args: container.args } : {}),
              env: container.env,
              ports: [{ name: sandbox.service, containerPort: service.port, protocol: 'TCP' }],
              readinessProbe: container.readinessProbe,
              ...(res ? { resources: res } : {}),
              volumeMounts: [{ name: 'data', mountPath: service.dataPath }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: labels(environment, sandbox.name) },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: STORAGE_SIZE } } },
        },
      ],
    },
  };
  return [
    { comments: [`sandbox ${sandbox.name}: ${sandbox.service} reached in the namespace at ${sandbox.name}:${service.port}`], object: svc },
    { comments: [], object: sts },
  ];
}

function cnpgClusterDocument(environment: string, sandbox: SandboxSpec): KubeDocument {
  const parameters = Object.fromEntries(plainSettings(sandbox).map(([k, v]) => [k, String(v)]));
  const res = resources(sandbox);
  const cluster: KubeObject = {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name: sandbox.name, labels: labels(environment, sandbox.name) },
    spec: {
      instances: 1,
      imageName: sandbox.image ?? `${CNPG_IMAGE}:${sandbox.version ?? serviceImage('postgres').defaultVersion}`,
      inheritedMetadata: { labels: labels(environment, sandbox.name) },
      bootstrap: { initdb: { database: sandbox.database ?? '', owner: sandbox.user ?? '', secret: { name: secretName(sandbox.name) } } },
      ...(Object.keys(parameters).length > 0 ? { postgresql: { parameters } } : {}),
      storage: { size: STORAGE_SIZE },
      ...(res ? { resources: res } : {}),
    },
  };
  return {
    comments: [
      `sandbox ${sandbox.name}: a CloudNativePG cluster, reached in the namespace at ${sandbox.name}-rw:${serviceImage('postgres').port}`,
    ],
    object: cluster,
  };
}

/**
 * The connection settings as they are inside the namespace: a connection bound to a sandbox points
 * at its Service and the service's own port; everything else is the manifest's, rendered by src/config/.
 */
export function clusterSettings(resolved: ResolvedEnvironment, opts: KubernetesExportOptions): ReturnType<typeof connectionVariables> {
  const inCluster = (name: string | undefined) => (name ? resolved.sandboxes[name] : undefined);
  const connections = { ...resolved.connections };
  const db = inCluster(connections.database?.sandbox);
  if (connections.database && db && isClusterService(db.service)) {
    connections.database = { ...connections.database, host: serviceHost(db, opts), port: serviceImage(db.service).port };
  }
  // A tunnel forwards this machine's 127.0.0.1 to a server; in the cluster there is no tunnel, so the
  // settings name that server as the SSH server sees it (docs/kubernetes.md "Tunnels").
  const tunnel = inCluster(connections.database?.ssh_tunnel.sandbox);
  if (connections.database && tunnel?.service === 'tunnel' && tunnel.remote) {
    connections.database = { ...connections.database, ...tunnelTarget(tunnel), ssh_tunnel: { enabled: false } };
  }
  const cache = inCluster(connections.cache?.sandbox);
  if (connections.cache && cache && isClusterService(cache.service)) {
    connections.cache = { ...connections.cache, host: serviceHost(cache, opts), port: serviceImage(cache.service).port };
  }
  return connectionVariables({ ...resolved, connections });
}

function settingsDocuments(resolved: ResolvedEnvironment, opts: KubernetesExportOptions): KubeDocument[] {
  const env = resolved.environment;
  const vars = clusterSettings(resolved, opts);
  const name = settingsName(env);
  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels: labels(env) },
    data: Object.fromEntries(vars.filter((v) => !v.sensitive).map((v) => [v.key, v.value])),
  };
  const header = [
    `connection settings of ${env}: the variables of .iact/env/${env}.env, for apps in the namespace`,
    `(envFrom: [{configMapRef: {name: ${name}}}, {secretRef: {name: ${name}}}])`,
  ];
  const docs: KubeDocument[] = [{ comments: header, object: configMap }];
  const secrets = vars.filter((v) => v.sensitive);
  if (secrets.length === 0) return docs;
  const secret: SandboxSecret = { name, type: 'Opaque', data: Object.fromEntries(secrets.map((v) => [v.key, v.value])) };
  if (opts.includeSecrets) docs.push({ comments: [], object: secretObject(env, undefined, secret) });
  else {
    const command = `kubectl create secret generic ${name} --from-env-file=${env}-secrets.env`;
    docs.push({ comments: secretComments(secret, 'from a file of KEY=value lines (unquoted, mode 0600)', command) });
  }
  return docs;
}

/** Names Kubernetes accepts for these objects: a DNS label, and short enough for a StatefulSet's pod labels. */
function nameProblem(sandbox: SandboxSpec, opts: KubernetesExportOptions): ExportProblem | undefined {
  // A StatefulSet's pods get the label controller-revision-hash=NAME-<10 chars>, at most 63 characters;
  // CloudNativePG's webhook refuses cluster names past 50.
  const max = sandbox.service === 'postgres' && opts.operator === 'cnpg' ? 50 : 52;
  if (/^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(sandbox.name) && sandbox.name.length <= max) return undefined;
  return {
    summary: `sandbox ${sandbox.name} cannot be a Kubernetes object name`,
    path: `sandboxes.${sandbox.name}`,
    fix: `rename it: at most ${max} characters, ending with a letter or digit`,
  };
}

export function buildKubernetesExport(resolved: ResolvedEnvironment, opts: KubernetesExportOptions): KubernetesExport {
  const env = resolved.environment;
  const documents: KubeDocument[] = [];
  const problems: ExportProblem[] = [];
  // The settings objects are named after the environment, and Kubernetes names take no '_'.
  if (!/^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(env)) {
    problems.push({
      summary: `environment ${env} cannot name Kubernetes objects (${settingsName(env)})`,
      path: 'environment',
      fix: 'rename the environment (and its manifest file) to letters, digits and -, ending with a letter or digit',
    });
  }
  for (const sandbox of Object.values(resolved.sandboxes)) {
    const problem = nameProblem(sandbox, opts);
    if (problem) {
      problems.push(problem);
      continue;
    }
    if (sandbox.service === 'none') {
      documents.push({ comments: [`sandbox ${sandbox.name} (service none) runs no server: nothing to export`] });
      continue;
    }
    if (!isClusterService(sandbox.service)) {
      // A tunnel reaches a server elsewhere from this machine; a cluster reaches it over its own network.
      documents.push({
        comments: [
          `sandbox ${sandbox.name} (service ${sandbox.service}) forwards to a server elsewhere: nothing to export; the settings name that server${
            sandbox.remote ? ` (${tunnelTarget(sandbox).host}:${tunnelTarget(sandbox).port})` : ''
          }, which the cluster must reach`,
        ],
      });
      continue;
    }
    documents.push(secretDocument(env, sandbox, opts));
    if (sandbox.service === 'postgres' && opts.operator === 'cnpg') documents.push(cnpgClusterDocument(env, sandbox));
    else documents.push(...statefulSetDocuments(env, { ...sandbox, service: sandbox.service }));
  }
  documents.push(...settingsDocuments(resolved, opts));
  return { documents, problems };
}

/** Every exported object, for tests and callers that do not want YAML. */
export function exportedObjects(result: KubernetesExport): KubeObject[] {
  return result.documents.flatMap((d) => (d.object ? [d.object] : []));
}

/** Multi-document YAML: `---` between documents, each document's comments above its object. */
export function renderKubernetesYaml(result: KubernetesExport, header: string[]): string {
  const parts: string[] = [];
  let pending = header.map((line) => `# ${line}`);
  for (const doc of result.documents) {
    pending.push(...doc.comments.map((line) => (line === '' ? '#' : `# ${line}`)));
    if (!doc.object) continue;
    parts.push([...pending, stringify(doc.object, { lineWidth: 0 }).trimEnd()].join('\n'));
    pending = [];
  }
  // Comments after the last object stay in its document: an empty document would follow otherwise.
  const text = parts.join('\n---\n');
  return `${pending.length > 0 ? [text, ...pending].join('\n') : text}\n`;
}
