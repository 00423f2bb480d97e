// Pure renderers of doctor results: verdicts, text and JSON. No I/O.
import { SERVER_SERVICES } from '../catalog/index.js';
import { DRIVERS } from '../model/types.js';
import { DEFAULT_DRIVER, type CheckResult, type DriverVerdict } from './types.js';

export function verdicts(results: readonly CheckResult[]): DriverVerdict[] {
  return DRIVERS.map((driver) => {
    const own = results.filter((r) => r.driver === driver);
    const usable = own.length > 0 && own.every((r) => !r.required || r.state !== 'missing');
    const services = usable
      ? SERVER_SERVICES.filter((id) => {
          // A service's checks are its id and `<id>-...` (the binaries, its user, its image).
          const related = own.filter((r) => r.id === id || r.id.startsWith(`${id}-`));
          return related.length > 0 && related.every((r) => r.state !== 'missing');
        })
      : [];
    return { driver, usable, services: usable ? ['none', ...services] : [] };
  });
}

export function defaultDriverUsable(results: readonly CheckResult[]): boolean {
  return verdicts(results).find((v) => v.driver === DEFAULT_DRIVER)?.usable ?? false;
}

const MARK = { ok: 'ok', missing: 'MISSING', warning: 'warning' } as const;

export function renderDoctorText(results: readonly CheckResult[], options: { color: boolean }): string {
  const paint = (code: string, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const tint = { ok: '32', missing: '31', warning: '33' } as const;
  const needWidth = Math.max(...results.map((r) => r.need.length), 4);
  const lines: string[] = [];
  for (const verdict of verdicts(results)) {
    const own = results.filter((r) => r.driver === verdict.driver);
    const label = verdict.driver === DEFAULT_DRIVER ? `${verdict.driver} (default driver)` : verdict.driver;
    const state = verdict.usable ? paint('32', `usable; services: ${verdict.services.join(', ')}`) : paint('31', 'not usable here');
    lines.push(`${label}: ${state}`);
    const sameAsDefault = (r: CheckResult) =>
      verdict.driver !== DEFAULT_DRIVER &&
      results.some((d) => d.driver === DEFAULT_DRIVER && d.id === r.id && d.state === r.state && d.found === r.found);
    for (const r of own.filter((c) => !sameAsDefault(c))) {
      const mark = paint(tint[r.state], MARK[r.state].padEnd(7));
      lines.push(`  ${mark}  ${r.need.padEnd(needWidth)}  ${r.found}`);
      if (r.state !== 'ok' && r.fix) lines.push(`  ${' '.repeat(7)}  ${' '.repeat(needWidth)}  fix: ${r.fix}`);
    }
    const shared = own.filter(sameAsDefault);
    if (shared.length > 0) lines.push(`  ${'same'.padEnd(7)}  ${shared.map((r) => r.id).join(', ')} (as for ${DEFAULT_DRIVER}, above)`);
    lines.push('');
  }
  // A prerequisite shared by several drivers is one thing to install.
  const missing = [...new Map(results.filter((r) => r.state === 'missing').map((r) => [r.id, r])).values()];
  lines.push(
    missing.length === 0
      ? 'Everything every driver needs is here.'
      : `${missing.length} missing prerequisite${missing.length === 1 ? '' : 's'}; ${defaultDriverUsable(results) ? `the default driver (${DEFAULT_DRIVER}) is usable` : `the default driver (${DEFAULT_DRIVER}) is NOT usable`}.`,
  );
  return `${lines.join('\n')}\n`;
}

export function doctorJson(results: readonly CheckResult[]): {
  default_driver: string;
  usable: boolean;
  drivers: DriverVerdict[];
  checks: CheckResult[];
} {
  return { default_driver: DEFAULT_DRIVER, usable: defaultDriverUsable(results), drivers: verdicts(results), checks: [...results] };
}
