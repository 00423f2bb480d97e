// `iact export --format kubernetes`: golden output of the bundled staging environment, every object
// checked against the Kubernetes API schemas (kubernetes-models) or the CloudNativePG CRD, no secret leaked.
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import path from 'node:path';
import { Ajv } from 'ajv';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import exportCommand from '../../src/commands/export.js';
import type { CommandIO } from '../../src/commands/io.js';
import { cleanupTemp, REPO, runCli, tempProject } from '../manifest/helpers.js';
import { freePort, needs } from '../helpers/services.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const FIXTURES = path.join(REPO, 'test/fixtures/export');

afterAll(cleanupTemp);

/** Validators generated from the Kubernetes OpenAPI definitions, by apiVersion/kind. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
};
/** The `kubernetes-models` type each kind is checked against for unknown fields. */
const TYPES: Record<string, [string, string]> = {
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'v1/Secret': ['kubernetes-models/v1/Secret', 'ISecret'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'apps/v1/StatefulSet': ['kubernetes-models/apps/v1/StatefulSet', 'IStatefulSet'],
};

const ajv = new Ajv({ allErrors: true, strict: true });
const validateCluster = ajv.compile(JSON.parse(readFileSync(path.join(FIXTURES, 'cnpg-cluster.schema.json'), 'utf8')) as object);

type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels: Record<string, string> } };

/** Errors of one object against its schema; [] when valid. */
function schemaErrors(obj: Obj): string[] {
  const key = `${obj.apiVersion}/${obj.kind}`;
  if (key === 'postgresql.cnpg.io/v1/Cluster') {
    return validateCluster(obj) ? [] : (validateCluster.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  }
  const Model = MODELS[key];
  if (!Model) return [`no schema for ${key}`];
  try {
    new Model(obj as never).validate();
    return [];
  } catch (error) {
    return [String(error instanceof Error ? error.message : error)];
  }
}

/**
 * The OpenAPI definitions allow unknown fields (the API server drops them); kubectl's strict
 * validation does not. TypeScript's excess-property check against kubernetes-models' types finds them.
 */
function unknownFields(objects: Obj[]): string[] {
  const checked = objects.filter((o) => TYPES[`${o.apiVersion}/${o.kind}`]);
  const imports = [...new Set(checked.map((o) => TYPES[`${o.apiVersion}/${o.kind}`]!))].map(
    ([mod, type]) => `import type { ${type} } from '${mod}';`,
  );
  const bodies = checked.map((o, i) => `export const o${i}: ${TYPES[`${o.apiVersion}/${o.kind}`]![1]} = ${JSON.stringify(o)};`);
  const file = path.join(REPO, 'test/export/__strict_check__.ts');
  const source = [...imports, ...bodies].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    skipLibCheck: true,
    lib: ['lib.es2022.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => (f === file ? source : readFile(f));
  host.fileExists = (
    (exists) => (f: string) =>
      f === file || exists(f)
  )(host.fileExists.bind(host));
  host.getSourceFile = (f, lang, ...rest) => (f === file ? ts.createSourceFile(f, source, lang) : getSourceFile(f, lang, ...rest));
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

function objectsOf(yaml: string): Obj[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

function project(manifests: Record<string, string> = {}): string {
  const dir = tempProject();
  cpSync(path.join(REPO, 'environments'), path.join(dir, 'environments'), { recursive: true });
  for (const [name, text] of Object.entries(manifests)) writeFileSync(path.join(dir, 'environments', `${name}.yaml`), text);
  return dir;
}

async function runExport(dir: string, opts: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = { cwd: dir, env, stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), isTTY: false, color: false };
  const code = await exportCommand({ format: 'kubernetes', ...opts }, io);
  return { code, stdout, stderr };
}

function golden(name: string, actual: string): string {
  const file = path.join(FIXTURES, name);
  if (UPDATE || !existsSync(file)) {
    mkdirSync(FIXTURES, { recursive: true });
    writeFileSync(file, actual);
  }
  return readFileSync(file, 'utf8');
}

const STAGING_SECRETS = {
  DB_STAGING_PASSWORD: 'stg-db-pa55 "quoted" \\ back',
  REDIS_STAGING_PASSWORD: 'stg-redis-s3cret',
  LLM_API_KEY: 'sk-staging-0123456789',
};

describe('iact export --format kubernetes', () => {
  for (const [variant, opts] of [
    ['staging.yaml', {}],
    ['staging-cnpg.yaml', { operator: 'cnpg' }],
  ] as const) {
    it(`the bundled staging environment (${variant}) matches the golden, every object valid`, async () => {
      const run = await runExport(project(), { env: 'staging', ...opts });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(golden(variant, run.stdout));
      const objects = objectsOf(run.stdout);
      expect(objects.map((o) => o.kind)).toEqual(
        variant === 'staging.yaml'
          ? ['Service', 'StatefulSet', 'Service', 'StatefulSet', 'ConfigMap']
          : ['Cluster', 'Service', 'StatefulSet', 'ConfigMap'],
      );
      for (const obj of objects) {
        expect(schemaErrors(obj), `${obj.kind} ${obj.metadata.name}`).toEqual([]);
        expect(obj.metadata.labels['app.kubernetes.io/managed-by']).toBe('iact');
        expect(obj.metadata.labels['iact.dev/environment']).toBe('staging');
      }
      expect(objects.filter((o) => o.kind !== 'ConfigMap').every((o) => o.metadata.labels['iact.dev/sandbox'])).toBe(true);
      // No Secret object and no value: only their names and keys, for the operator to fill.
      expect(run.stdout).not.toContain('iact-staging-password');
      expect(run.stdout).toContain(
        '# Secret staging-postgres-credentials (kubernetes.io/basic-auth, keys: username, password) is not exported',
      );
      expect(run.stdout).toContain('# Secret staging-settings (Opaque, keys: DB_PASSWORD, REDIS_PASSWORD, LLM_API_KEY)');
    });
  }

  it('the connection settings are the env file variables, pointed at the in-cluster services', async () => {
    const cm = (yaml: string) => objectsOf(yaml).find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const plain = cm((await runExport(project(), { env: 'staging' })).stdout).data;
    expect(plain).toMatchObject({
      ENVIRONMENT: 'staging',
      DB_HOST: 'staging-postgres',
      DB_PORT: '5432',
      REDIS_HOST: 'staging-redis',
      REDIS_PORT: '6379',
      CACHE_TTL: '1800',
    });
    expect(plain).not.toHaveProperty('DB_PASSWORD');
    const cnpg = cm((await runExport(project(), { env: 'staging', operator: 'cnpg' })).stdout).data;
    expect(cnpg.DB_HOST).toBe('staging-postgres-rw');
  });

  it('no exported object has a field its Kubernetes type does not declare', async () => {
    const objects = [
      ...objectsOf((await runExport(project(), { env: 'staging', includeSecrets: true }, STAGING_SECRETS)).stdout),
      ...objectsOf((await runExport(project({ mixed: MIXED }), { env: 'mixed', includeSecrets: true })).stdout),
    ];
    expect(objects.length).toBeGreaterThan(8);
    // One compile for all: the only error must be the misspelled field planted in a copy.
    const sts = objects.find((o) => o.kind === 'StatefulSet')!;
    const typo = { ...sts, spec: { ...(sts as unknown as { spec: object }).spec, volumeClaimTemplate: [] } } as Obj;
    const errors = unknownFields([...objects, typo]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/known properties.*volumeClaimTemplate.*IStatefulSetSpec/);
  }, 60_000);

  it('--include-secrets writes the Secrets with their values to a 0600 file; without it no secret leaves', async () => {
    const dir = project();
    const out = path.join(dir, 'staging.k8s.yaml');
    const run = await runExport(dir, { env: 'staging', includeSecrets: true, out }, STAGING_SECRETS);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/Wrote 8 Kubernetes objects of staging to .*mode 0600/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const objects = objectsOf(readFileSync(out, 'utf8'));
    const secrets = objects.filter((o) => o.kind === 'Secret') as unknown as {
      metadata: { name: string };
      stringData: Record<string, string>;
    }[];
    expect(secrets.map((s) => s.metadata.name)).toEqual(['staging-postgres-credentials', 'staging-redis-credentials', 'staging-settings']);
    expect(secrets[0]!.stringData).toEqual({ username: 'iact_user', password: STAGING_SECRETS.DB_STAGING_PASSWORD });
    expect(secrets[2]!.stringData).toEqual({
      DB_PASSWORD: STAGING_SECRETS.DB_STAGING_PASSWORD,
      REDIS_PASSWORD: STAGING_SECRETS.REDIS_STAGING_PASSWORD,
      LLM_API_KEY: STAGING_SECRETS.LLM_API_KEY,
    });
    for (const obj of objects) expect(schemaErrors(obj), `${obj.kind} ${obj.metadata.name}`).toEqual([]);

    const masked = await runExport(project(), { env: 'staging' }, STAGING_SECRETS);
    for (const secret of Object.values(STAGING_SECRETS)) expect(masked.stdout).not.toContain(secret);
    expect(objectsOf(masked.stdout).some((o) => o.kind === 'Secret')).toBe(false);
  });

  it('mysql, a secret-named setting, a none and a tunnel sandbox: valid objects, the secret setting only in its Secret', async () => {
    const run = await runExport(project({ mixed: MIXED }), { env: 'mixed' });
    expect(run.code).toBe(0);
    const objects = objectsOf(run.stdout);
    for (const obj of objects) expect(schemaErrors(obj), `${obj.kind} ${obj.metadata.name}`).toEqual([]);
    expect(run.stdout).toContain('image: mariadb:10.11');
    expect(run.stdout).toContain('image: redis:7.2');
    expect(run.stdout).toContain('# sandbox mixed-files (service none) runs no server: nothing to export');
    expect(run.stdout).toContain('# sandbox mixed-tunnel (service tunnel) forwards to a server elsewhere: nothing to export');
    expect(run.stdout).toContain('keys: password, masterauth');
    expect(run.stdout).not.toContain('primary-secret-value');
    expect(run.stdout).not.toContain('mixed-redis-pw');
  });

  it('a database reached through a tunnel: the settings name its server, not 127.0.0.1, and no tunnel', async () => {
    const run = await runExport(project({ tunneled: TUNNELED }), { env: 'tunneled' });
    expect(run.code, run.stderr).toBe(0);
    const settings = objectsOf(run.stdout).find((o) => o.kind === 'ConfigMap') as Obj & { data: Record<string, string> };
    expect(settings.data).toMatchObject({ DB_HOST: 'db.internal', DB_PORT: '5432', SSH_TUNNEL_ENABLED: 'false' });
    expect(run.stdout).toContain('the settings name that server (db.internal:5432), which the cluster must reach');
    // remote.host 127.0.0.1 is the SSH server itself.
    const local = await runExport(project({ tunneled: TUNNELED.replace('host: db.internal', 'host: 127.0.0.1') }), { env: 'tunneled' });
    const data = (objectsOf(local.stdout).find((o) => o.kind === 'ConfigMap') as Obj & { data: Record<string, string> }).data;
    expect(data.DB_HOST).toBe('bastion.example.com');
  });

  it('the redis container starts a real redis-server with its password from the Secret, in no argv', async (ctx) => {
    needs(ctx, 'redis');
    const password = 'tr1cky "pass" \\ word';
    const masterauth = 'primary secret $value';
    const manifest = MIXED.replace('password: mixed-redis-pw', `password: '${password}'`).replace(
      'masterauth: primary-secret-value',
      `masterauth: '${masterauth}'`,
    );
    const run = await runExport(project({ mixed: manifest }), { env: 'mixed' });
    const sts = objectsOf(run.stdout).find((o) => o.metadata.name === 'mixed-cache' && o.kind === 'StatefulSet') as unknown as {
      spec: {
        template: {
          spec: {
            containers: { command: string[]; args: string[]; env: { name: string }[]; readinessProbe: { exec: { command: string[] } } }[];
          };
        };
      };
    };
    const container = sts.spec.template.spec.containers[0]!;
    expect(container.env.map((e) => e.name)).toEqual(['REDISCLI_AUTH', 'IACT_SETTING_MASTERAUTH']);
    const dir = tempProject();
    const port = await freePort();
    // What Kubernetes would run, with the Secret's values in the container's environment; only the data dir and port differ.
    const env = { PATH: process.env.PATH, TMPDIR: dir, REDISCLI_AUTH: password, IACT_SETTING_MASTERAUTH: masterauth };
    const [cmd, ...cmdArgs] = container.command;
    const server = execa(
      cmd!,
      [...cmdArgs, ...container.args.map((a) => (a === '/data' ? dir : a)), '--port', String(port), '--bind', '127.0.0.1', '--save', ''],
      { env, extendEnv: false, reject: false },
    );
    try {
      const cli = (args: string[], extra: Record<string, string> = {}) =>
        execa('redis-cli', ['-p', String(port), ...args], { env: { ...env, ...extra }, extendEnv: false, reject: false });
      for (let i = 0; i < 100 && (await cli(['ping'])).stdout !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 50));
      expect((await cli(['ping'])).stdout).toBe('PONG');
      expect((await cli(['config', 'get', 'masterauth'])).stdout).toBe(`masterauth\n${masterauth}`);
      expect((await cli(['config', 'get', 'maxmemory-policy'])).stdout).not.toContain('masterauth');
      const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8');
      expect(cmdline).toContain('redis-server');
      expect(cmdline).not.toContain('tr1cky');
      expect(cmdline).not.toContain('primary');
      // The readiness probe as Kubernetes runs it: ready with the Secret's password, not with another.
      const [probe, ...probeArgs] = container.readinessProbe.exec.command;
      const probeWith = (auth: string) =>
        execa(
          probe!,
          probeArgs.map((a) => a.replace('redis-cli ping', `redis-cli -p ${port} ping`)),
          { env: { ...env, REDISCLI_AUTH: auth }, extendEnv: false, reject: false },
        );
      expect((await probeWith(password)).exitCode).toBe(0);
      expect((await probeWith('wrong-password')).exitCode).not.toBe(0);
    } finally {
      server.kill('SIGTERM');
      await server;
    }
  });

  it('a sandbox name Kubernetes cannot take is an error at its line, with the fix', async () => {
    const long = `s${'a'.repeat(55)}`;
    const run = await runExport(project({ bad: BAD.replace('LONGNAME', long) }), { env: 'bad' }).catch(
      (error: Error & { diagnostics?: unknown[] }) => error,
    );
    expect(run).toBeInstanceOf(Error);
    const diagnostics = (run as { diagnostics: { summary: string; location?: { line: number }; fix?: string }[] }).diagnostics;
    expect(diagnostics[0]!.summary).toBe(`sandbox ${long} cannot be a Kubernetes object name`);
    expect(diagnostics[0]!.location?.line).toBe(9); // the sandbox's block
    expect(diagnostics[0]!.fix).toMatch(/at most 52 characters/);
  });

  it('an environment name Kubernetes cannot take is an error too', async () => {
    const manifest = BAD.replace('environment: bad', 'environment: my_env').replace(/LONGNAME/, 'fine-redis');
    await expect(runExport(project({ my_env: manifest }), { env: 'my_env' })).rejects.toThrow(
      'environment my_env cannot name Kubernetes objects (my_env-settings)',
    );
  });

  it('through the built CLI: the same golden, and --format is required', async () => {
    const dir = project();
    const run = await runCli(['export', '--format', 'kubernetes', '--env', 'staging'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(readFileSync(path.join(FIXTURES, 'staging.yaml'), 'utf8'));
    const missing = await runCli(['export', '--env', 'staging'], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("required option '-f, --format <format>' not specified");
  });

  it('an unknown format is refused with the one that exists', async () => {
    await expect(runExport(project(), { env: 'staging', format: 'nomad' })).rejects.toThrow('unknown export format "nomad"');
  });
});

const MIXED = `apiVersion: iact/v1
environment: mixed
sandboxes:
  mixed-maria:
    service: mysql
    port: 53306
    database: app
    user: app_user
    password: mixed-maria-pw
    memory: 1G
    settings:
      max_connections: 20
  mixed-cache:
    service: redis
    port: 56399
    version: "7.2"
    password: mixed-redis-pw
    settings:
      masterauth: primary-secret-value
      save: "900 1"
  mixed-files:
    service: none
    port: 50999
  mixed-tunnel:
    service: tunnel
    port: 50998
    ssh: { host: bastion.example.com, knownHosts: known_hosts }
    remote: { host: db.internal, port: 5432 }
connections:
  database:
    sandbox: mixed-maria
`;

const TUNNELED = `apiVersion: iact/v1
environment: tunneled
sandboxes:
  vm-db:
    service: tunnel
    port: 50997
    ssh: { host: bastion.example.com, user: deploy, knownHosts: known_hosts }
    remote: { host: db.internal, port: 5432 }
connections:
  database:
    name: app
    user: app
    sshTunnel: { sandbox: vm-db }
`;

const BAD = `apiVersion: iact/v1
environment: bad
sandboxes:
  ok-redis:
    service: redis
    port: 56398
    password: some-password
  LONGNAME:
    service: redis
    port: 56397
    password: other-password
`;
