// Pure doctor renderers: which driver is usable, which services, and what the text says.
import { describe, expect, it } from 'vitest';
import { defaultDriverUsable, doctorJson, renderDoctorText, verdicts } from '../../src/doctor/render.js';
import type { CheckResult } from '../../src/doctor/types.js';

const ok = (driver: CheckResult['driver'], id: string, required = false): CheckResult => ({
  driver,
  id,
  need: id,
  state: 'ok',
  found: `${id} found`,
  required,
});
const missing = (driver: CheckResult['driver'], id: string, required: boolean, fix: string): CheckResult => ({
  driver,
  id,
  need: id,
  state: 'missing',
  found: `${id} not found`,
  fix,
  required,
});

describe('doctor verdicts', () => {
  it('a missing service binary limits the services, a missing required check disables the driver', () => {
    const results: CheckResult[] = [
      ok('lightweight', 'bash', true),
      ok('lightweight', 'postgres'),
      missing('lightweight', 'postgres-user', false, 'useradd postgres'),
      ok('lightweight', 'redis'),
      missing('namespace', 'forwarder', true, 'apt-get install socat'),
      ok('namespace', 'redis'),
      ok('docker', 'docker-cli', true),
      ok('docker', 'docker-engine', true),
      ok('docker', 'redis-image'),
      missing('docker', 'postgres-image', false, 'scripts/docker-images.sh postgres'),
    ];
    expect(verdicts(results)).toEqual([
      { driver: 'lightweight', usable: true, services: ['none', 'redis'] },
      { driver: 'namespace', usable: false, services: [] },
      { driver: 'docker', usable: true, services: ['none', 'redis'] },
    ]);
    expect(defaultDriverUsable(results)).toBe(true);
    expect(doctorJson(results).usable).toBe(true);
    const text = renderDoctorText(results, { color: false });
    expect(text).toContain('fix: apt-get install socat');
    expect(text).toContain('fix: useradd postgres');
    expect(text).not.toContain('\u001b[');
    expect(text.trimEnd().split('\n').at(-1)).toBe('3 missing prerequisites; the default driver (lightweight) is usable.');
  });

  it('the default driver without bash is not usable', () => {
    const results = [missing('lightweight', 'bash', true, 'apt-get install bash'), ok('lightweight', 'jq', true)];
    expect(defaultDriverUsable(results)).toBe(false);
    expect(renderDoctorText(results, { color: false })).toMatch(/^lightweight \(default driver\): not usable here$/m);
  });

  it('checks shared with the default driver are listed once', () => {
    const results = [ok('lightweight', 'bash', true), ok('namespace', 'root', true), ok('namespace', 'bash', true)];
    const text = renderDoctorText(results, { color: false });
    expect(text.match(/bash found/g)).toHaveLength(1);
    expect(text).toContain('same     bash (as for lightweight, above)');
  });
});
