import { describe, expect, it } from 'vitest';
import { MASKED_CHANGED } from '../../src/secrets/index.js';
import { renderPlanText } from '../../src/render/text.js';
import { SECRETS, emptyPlan, everyActionPlan } from './sample-plans.js';

const ANSI = /\u001b\[[0-9;]*m/g;

describe('renderPlanText', () => {
  const plan = everyActionPlan();
  const text = renderPlanText(plan, { color: false });
  const lines = text.split('\n');

  it('shows one block per change with its symbol, address and what will happen', () => {
    expect(lines).toContain('  + sandbox.app-db {');
    expect(lines).toContain('  ~ sandbox.cache {');
    expect(lines).toContain('-/+ sandbox.legacy-db {');
    expect(lines).toContain('  - sandbox.old-cache {');
    expect(lines).toContain('  > sandbox.worker');
    expect(lines).toContain('  # sandbox.app-db (postgres, lightweight) will be created');
    expect(lines).toContain(
      '  # sandbox.old-cache (redis, lightweight) will be deleted (data-loss: backup to .iact/backups/development/ first)',
    );
    expect(lines).toContain(
      '  # sandbox.legacy-db (mysql, lightweight) must be replaced (data-loss: backup to .iact/backups/development/ first)',
    );
    expect(lines).toContain('  # sandbox.worker (none, lightweight) will be started');
    expect(text).not.toContain('sandbox.steady'); // no-op changes are not shown
  });

  it('names the impact of every update', () => {
    expect(lines).toContain('  # sandbox.cache (redis, lightweight) will be updated in place (restart)');
    expect(lines).toContain('  # sandbox.reports-db (postgres, lightweight) will be updated in place (reload)');
    expect(lines).toContain('  # sandbox.auth-db (postgres, lightweight) will be updated in place (no restart)');
  });

  it('shows field changes as old -> new, settings nested, with what each forces', () => {
    expect(lines).toContain('      ~ port    = 6380 -> 6381 # restart');
    expect(lines).toContain('      ~ protect = false -> true # no machine change');
    expect(text).toContain('      ~ settings {\n          ~ maxmemory = "64mb" -> "128mb" # reload\n        }');
    expect(lines).toContain('          + statement_timeout = 3000 # reload');
    expect(lines).toContain('      ~ service = "postgres" -> "mysql" # forces replacement');
    expect(lines).toContain('        # (3 unchanged fields hidden)');
  });

  it('never shows a secret: masked values and (sensitive, changed)', () => {
    expect(lines).toContain(`      ~ password = ${MASKED_CHANGED}`);
    expect(lines).toContain('      + password   = (sensitive)');
    expect(lines).toContain('      - password_hash = (sensitive)');
    expect(text).not.toContain('sha256:0123456789abcdef');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });

  it('masks a plaintext value under a secret name even if the planner let one through', () => {
    const leaky = everyActionPlan();
    leaky.changes[0]!.after = { ...leaky.changes[0]!.after, password: SECRETS[0]! };
    leaky.changes[3]!.fields[0] = { ...leaky.changes[3]!.fields[0]!, before: SECRETS[0]!, after: SECRETS[1]!, sensitive: false };
    const out = renderPlanText(leaky, { color: true });
    for (const secret of SECRETS) expect(out).not.toContain(secret);
  });

  it('shows drift, protection, the settings diff and notices', () => {
    expect(lines).toContain('  #   service is not running (drift)');
    expect(lines).toContain('  #   protected: apply refuses this without --allow-destroy');
    expect(lines).toContain('      - DB_PORT=5433');
    expect(lines).toContain('      + DB_PORT=5434');
    expect(lines).toContain('        DB_PASSWORD=(sensitive)');
    expect(text).not.toContain('Index:');
    expect(lines).toContain('Warning: driver docker is not available: no docker engine is running');
    expect(lines).toContain('  fix: start dockerd, or run `iact doctor`');
  });

  it('ends with the summary line', () => {
    expect(text.endsWith('Plan: 1 to create, 3 to update, 1 to replace, 1 to delete, 1 to start.\n')).toBe(true);
    expect(renderPlanText(emptyPlan('staging'), { color: false }).trimEnd().split('\n').pop()).toBe(
      'No changes. staging matches its manifest.',
    );
    expect(renderPlanText(emptyPlan('staging', true), { color: false }).trimEnd().split('\n').pop()).toBe(
      'No drift. staging matches its last applied spec.',
    );
  });

  it('words a refresh-only plan as drift', () => {
    const drifted = { ...everyActionPlan(), refresh_only: true };
    drifted.changes = drifted.changes.filter((c) => c.drift.length > 0);
    const out = renderPlanText(drifted, { color: false });
    expect(out).toContain('# sandbox.worker (none, lightweight) has drifted (a plan without --refresh-only would start it)');
    expect(out.trimEnd().split('\n').pop()).toBe('Drift: 1 sandbox differs from its last applied spec.');
  });

  it('does not claim a match when a driver could not be observed', () => {
    const blind = emptyPlan('development');
    blind.notices = [{ severity: 'error', summary: 'driver docker cannot run here: no engine' }];
    const out = renderPlanText(blind, { color: false });
    expect(out).toContain('Error: driver docker cannot run here: no engine');
    expect(out).not.toContain('matches its manifest');
  });

  it('colours only when asked, and colour changes nothing but escapes', () => {
    expect(text).not.toMatch(ANSI);
    const coloured = renderPlanText(plan, { color: true });
    expect(coloured).toContain('\u001b[32m+\u001b[39m sandbox.app-db'); // green create
    expect(coloured).toContain('\u001b[31m-\u001b[39m/\u001b[32m+\u001b[39m sandbox.legacy-db'); // red/green replace
    expect(coloured).toContain('\u001b[33m~\u001b[39m sandbox.cache'); // yellow update
    expect(coloured).toContain('\u001b[36m>\u001b[39m sandbox.worker'); // cyan start
    expect(coloured).toContain('\u001b[1m'); // bold headers
    expect(coloured.replace(ANSI, '')).toBe(text);
  });

  it('is deterministic', () => {
    expect(renderPlanText(everyActionPlan(), { color: false })).toBe(text);
  });
});
