// engine: in the manifest (docs/remote-engines.md): what is checked, with position and fix; what the
// driver spec and the connections get; what a change costs in a plan.
import { describe, expect, it } from 'vitest';
import { toDriverSpec } from '../../src/drivers/spec.js';
import { effectOf } from '../../src/plan/impact.js';
import { resolveDev } from '../helpers/manifests.js';

const messages = (body: string) => resolveDev(body).diagnostics.map((d) => `${d.location?.line}: ${d.summary} | ${d.fix}`);

describe('engine: block', () => {
  it('a remote engine with TLS files and a publish address: the spec carries it, the connection names its address', () => {
    const r = resolveDev(`defaults:
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
    const r = resolveDev(`sandboxes:
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
