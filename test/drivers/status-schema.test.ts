import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseStatus } from '../../src/drivers/bash-driver.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('precompiled driver-status validator', () => {
  it('matches schemas/driver-status.schema.json', () => {
    expect(() =>
      execFileSync(process.execPath, [path.join(repo, 'scripts/gen-status-validator.mjs'), '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('accepts a status and names what is wrong with a bad one', async () => {
    const good = [
      {
        name: 'a',
        environment: 'development',
        driver: 'lightweight',
        service: 'none',
        port: 2000,
        running: true,
        healthy: true,
        pid: null,
        spec_hash: '',
        spec: null,
        data_bytes: 0,
      },
    ];
    await expect(parseStatus(JSON.stringify(good))).resolves.toHaveLength(1);
    await expect(parseStatus(JSON.stringify([{ ...good[0], port: 'x' }]))).rejects.toThrow(/\/0\/port/);
  });
});
