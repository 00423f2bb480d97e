// iact doctor's checks of what the manifests name (docs/remote-engines.md "Checking an engine"):
// an engine's TLS files and answer, and the ssh client tunnels and ssh:// engines need.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeEngines, probeSsh } from '../../src/doctor/engines.js';
import { resolveDev } from '../helpers/manifests.js';

describe('doctor: engines', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iact-engine-certs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const f = (name: string) => path.join(dir, name);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  /** A self-signed certificate NAME.pem for CN=NAME, its key NAME-key.pem. */
  const selfSigned = (name: string) =>
    ssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      f(`${name}-key.pem`),
      '-out',
      f(`${name}.pem`),
    ]);

  it('says when the client certificate has expired, or was not issued by the CA, and names the engine', async () => {
    selfSigned('ca');
    selfSigned('other');
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

  it('asks for the ssh client when a tunnel or an ssh:// engine is declared, and only then', async () => {
    const tunnel = resolveDev(`sandboxes:
  vm:
    service: tunnel
    port: 15999
    ssh: { host: bastion, knownHosts: known_hosts }
    remote: { host: db.internal, port: 5432 }
`).resolved!;
    const engine = resolveDev(
      'sandboxes:\n  db:\n    service: postgres\n    driver: docker\n    engine: { host: "ssh://deploy@build-1", publish: 10.0.0.5 }\n',
    ).resolved!;
    const plain = resolveDev('sandboxes:\n  db: { service: postgres }\n').resolved!;
    const noSsh = { PATH: dir };
    expect(await probeSsh([plain], noSsh)).toEqual([]);
    for (const env of [tunnel, engine]) {
      const [check] = await probeSsh([env], noSsh);
      expect(check).toMatchObject({ id: 'ssh-client', state: 'missing', fix: 'apt-get install openssh-client' });
      expect(check!.found).toContain('dev/');
    }
    expect((await probeSsh([tunnel], { PATH: '/usr/bin:/bin' }))[0]).toMatchObject({ state: 'ok' });
  });
});
