// src/sandbox/status-view.ts: which row state and note a planned change gets.
import { describe, expect, it } from 'vitest';
import type { SandboxStatus } from '../../src/drivers/types.js';
import type { Plan, ResourceChange } from '../../src/plan/types.js';
import { statusReport } from '../../src/sandbox/status-view.js';

const change = (over: Partial<ResourceChange>): ResourceChange => ({
  address: 'sandbox.db',
  name: 'db',
  driver: 'lightweight',
  service: 'postgres',
  action: 'update',
  impact: 'restart',
  reasons: [],
  before: {},
  after: {},
  fields: [{ field: 'database', before: 'edited', after: 'app', sensitive: false, impact: 'restart', metadataOnly: false }],
  drift: [],
  backup: false,
  requiresAllowDestroy: false,
  depends_on: [],
  ...over,
});

const plan = (c: ResourceChange): Plan => ({
  format_version: 1,
  environment: 'development',
  fingerprint: 'x',
  inputs: { manifest: '', variables: {}, observed: {}, env_file: '' },
  refresh_only: false,
  targets: [],
  changes: [c],
  config_changes: [],
  notices: [],
  summary: { create: 0, update: 1, replace: 0, delete: 0, start: 0, no_op: 0, config: 0 },
});

const observed: SandboxStatus[] = [
  { name: 'db', environment: 'development', driver: 'lightweight', service: 'postgres', port: 5432, running: true, healthy: true, pid: 10, spec_hash: 'h', spec: null, data_bytes: 1 },
];

describe('statusReport', () => {
  it('a field changed in the manifest is "changed"', () => {
    expect(statusReport(plan(change({})), observed).sandboxes[0]).toMatchObject({ state: 'changed', note: 'manifest changed: database; apply updates it' });
  });

  it('the same field after a hand edit of sandbox.json is drift, not a manifest change', () => {
    const edited = change({ drift: ['sandbox.json differs from the spec it was last applied with (edited by hand)'] });
    expect(statusReport(plan(edited), observed).sandboxes[0]).toMatchObject({
      state: 'drift',
      note: 'drift: sandbox.json differs from the spec it was last applied with (edited by hand) (database); apply updates it',
    });
  });
});
