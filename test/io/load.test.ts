// src/io/load.ts: the variables' hashes in plans are keyed by a project-local salt, made once by the caller.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEnvironment, projectSalt } from '../../src/io/load.js';
import { variableHash } from '../../src/secrets/index.js';

const MANIFEST =
  'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  cache: { service: redis, driver: lightweight, port: 46379, password: "${DB_PASSWORD}" }\n';

describe('loadEnvironment: the salt of the variables hashes', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const project = () => {
    root = mkdtempSync(path.join(tmpdir(), 'iact-load-'));
    mkdirSync(path.join(root, 'environments'));
    writeFileSync(path.join(root, 'environments', 'development.yaml'), MANIFEST);
    writeFileSync(path.join(root, '.env'), 'DB_PASSWORD=password1\n');
    return root;
  };

  it('is made on first use (0600), kept, and makes the hash unguessable without it', async () => {
    const dir = project();
    const unkeyed = await loadEnvironment({ root: dir, environment: 'development', env: {} });
    expect(unkeyed.resolved!.variables.DB_PASSWORD).toBe(variableHash('DB_PASSWORD', 'password1'));
    expect(existsSync(path.join(dir, '.iact', 'salt'))).toBe(false); // validate-like use: no salt asked for, no file
    const first = await loadEnvironment({ root: dir, environment: 'development', env: {}, salt: projectSalt(dir) });
    const hash = first.resolved!.variables.DB_PASSWORD;
    const salt = path.join(dir, '.iact', 'salt');
    expect(statSync(salt).mode & 0o777).toBe(0o600);
    expect(readFileSync(salt, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toBe(variableHash('DB_PASSWORD', 'password1')); // not the public, unkeyed formula
    const again = await loadEnvironment({ root: dir, environment: 'development', env: {}, salt: projectSalt(dir) });
    expect(again.resolved!.variables.DB_PASSWORD).toBe(hash);
  });
});
