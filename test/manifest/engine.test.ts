// engine: in the manifest (docs/remote-engines.md): what is checked, with position and fix; what the
// driver spec and the connections get; what a change costs in a plan.
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeEngines } from '../../src/doctor/engines.js';
import { toDriverSpec } from '../../src/drivers/spec.js';
import { resolveManifest } from '../../src/manifest/resolve.js';
import { effectOf } from '../../src/plan/impact.js';

function resolve(body: string) {
  return resolveManifest({
    text: `apiVersion: iact/v1\nenvironment: dev\n${body}`,
    file: 'environments/dev.yaml',
    environment: 'dev',
    root: '/project',
    variables: {},
  });
}

const messages = (body: string) => resolve(body).diagnostics.map((d) => `${d.location?.line}: ${d.summary} | ${d.fix}`);

describe('engine: block', () => {
  it('a remote engine with TLS files and a publish address: the spec carries it, the connection names its address', () => {
    const r = resolve(`defaults:
  driver: docker
  engine:
    host: tcp://10.0.0.5:2376
    tls: { dir: certs/ }
    publish: 10.0.0.5
sandboxes:
  db: { service: postgres, port: 15432 }
  files: { service: none, port: 15433, driver: lightweight }
connections:
  database: { sandbox: db }
`);
    expect(r.diagnostics).toEqual([]);
    const db = r.resolved!.sandboxes.db!;
    expect(db.engine).toEqual({
      host: 'tcp://10.0.0.5:2376',
      tls: { ca: 'certs/ca.pem', cert: 'certs/cert.pem', key: 'certs/key.pem' },
      publish: '10.0.0.5',
    });
    // From defaults, an engine means nothing to a lightweight sandbox.
    expect(r.resolved!.sandboxes.files!.engine).toBeUndefined();
    expect(r.resolved!.connections.database!.host).toBe('10.0.0.5');
    expect(toDriverSpec('dev', db).engine?.publish).toBe('10.0.0.5');
  });

  it('address: wins over publish for what clients are told', () => {
    const r = resolve(`sandboxes:
  db:
    service: postgres
    driver: docker
    engine: { host: "ssh://deploy@build-1", publish: 0.0.0.0, address: build-1.internal }
connections:
  database: { sandbox: db }
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.resolved!.connections.database!.host).toBe('build-1.internal');
  });

  it('refuses what cannot work, each at its line with a fix', () => {
    expect(
      messages(
        'sandboxes:\n  db:\n    service: postgres\n    driver: docker\n    engine: { host: "tcp://10.0.0.5:2376", tls: { dir: c } }\n',
      ),
    ).toEqual([
      expect.stringMatching(
        /^7: sandbox db runs on the remote docker engine tcp:\/\/10\.0\.0\.5:2376, and engine\.publish .*\| add publish: ADDRESS/,
      ),
    ]);
    expect(
      messages('sandboxes:\n  db:\n    service: postgres\n    driver: docker\n    engine: { host: "tcp://h:2376", publish: 10.0.0.5 }\n'),
    ).toEqual([expect.stringMatching(/^7: sandbox db: engine host tcp:\/\/h:2376 has no tls:.*\| add tls: \{ dir: DIR \}/)]);
    expect(
      messages(
        'sandboxes:\n  db:\n    service: postgres\n    driver: docker\n    engine: { context: ci, host: "ssh://h", publish: 10.0.0.5 }\n',
      ),
    ).toEqual([expect.stringMatching(/engine sets both host and context/)]);
    expect(
      messages(
        'sandboxes:\n  db:\n    service: postgres\n    driver: docker\n    engine: { host: "tcp://h:2376", tls: { dir: c, ca: x }, publish: 10.0.0.5 }\n',
      ),
    ).toEqual([expect.stringMatching(/engine tls needs either dir or all of ca, cert and key/)]);
    expect(
      messages('sandboxes:\n  db:\n    service: postgres\n    driver: docker\n    engine: { context: ci, publish: 0.0.0.0 }\n'),
    ).toEqual([expect.stringMatching(/publish 0\.0\.0\.0 binds every address.*\| add address: HOST/)]);
    expect(messages('sandboxes:\n  db:\n    service: postgres\n    engine: { context: ci, publish: 10.0.0.5 }\n')).toEqual([
      expect.stringMatching(/^6: sandbox db sets engine, which only the docker driver has; its driver is lightweight/),
    ]);
    expect(
      messages('sandboxes:\n  db:\n    service: postgres\n    driver: docker\n    engine: { host: "tcp://h:2376; rm -rf /" }\n')[0],
    ).toMatch(/engine\.host has an invalid value/);
  });

  it('a local engine needs no publish address', () => {
    expect(
      messages(
        'sandboxes:\n  db:\n    service: postgres\n    driver: docker\n    engine: { host: "unix:///run/iact-docker/docker.sock" }\n',
      ),
    ).toEqual([]);
    expect(messages('sandboxes:\n  db:\n    service: postgres\n    driver: docker\n    engine: { context: default }\n')).toEqual([]);
  });

  it('plans: another engine replaces, another publish address recreates, TLS files and address only rewrite files', () => {
    expect(effectOf('engine.host', 'postgres', 'docker')).toMatchObject({ kind: 'replace', impact: 'data-loss' });
    expect(effectOf('engine.context', 'postgres', 'docker')).toMatchObject({ kind: 'replace' });
    expect(effectOf('engine.publish', 'postgres', 'docker')).toMatchObject({ kind: 'restart', steps: ['recreate'] });
    expect(effectOf('engine.tls', 'postgres', 'docker')).toMatchObject({ kind: 'metadata', steps: [] });
    expect(effectOf('engine.address', 'postgres', 'docker')).toMatchObject({ kind: 'metadata', steps: [] });
  });
});

describe('doctor: engines', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iact-engine-certs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const f = (name: string) => path.join(dir, name);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });

  it('says when the client certificate has expired, or was not issued by the CA, and names the engine', async () => {
    ssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=ca',
      '-keyout',
      f('ca-key.pem'),
      '-out',
      f('ca.pem'),
    ]);
    ssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=other',
      '-keyout',
      f('other-key.pem'),
      '-out',
      f('other.pem'),
    ]);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=client', '-keyout', f('key.pem'), '-out', f('client.csr')]);
    ssl([
      'x509',
      '-req',
      '-in',
      f('client.csr'),
      '-CA',
      f('other.pem'),
      '-CAkey',
      f('other-key.pem'),
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      f('cert.pem'),
    ]);
    expect(new X509Certificate(readFileSync(f('cert.pem'))).issuer).toContain('other');
    const use = {
      label: 'tcp://192.0.2.1:2376',
      engine: { host: 'tcp://192.0.2.1:2376', tls: { ca: f('ca.pem'), cert: f('cert.pem'), key: f('key.pem') }, publish: '192.0.2.1' },
      images: new Set(['iact/postgres:15']),
      sandboxes: ['dev/db'],
    };
    const results = await probeEngines([use], dir, process.env, 'scripts/docker-images.sh');
    const tls = results.find((r) => r.id === 'engine-1-tls')!;
    expect(tls).toMatchObject({ state: 'missing', driver: 'docker' });
    expect(tls.found).toContain(`was not issued by the CA ${f('ca.pem')}`);
    const engine = results.find((r) => r.id === 'engine-1')!;
    expect(engine.need).toBe('engine tcp://192.0.2.1:2376');
    expect(engine.state).toBe('missing');
    expect(engine.found).toContain('dev/db');
    expect(engine.fix).toBeTruthy();
  }, 30_000);
});
