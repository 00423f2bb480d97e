// src/sandbox/status-view.ts: which row state and note a planned change gets.
import { describe, expect, it } from 'vitest';
import type { SandboxStatus } from '../../src/drivers/types.js';
import type { ResourceChange } from '../../src/plan/types.js';
import { statusReport } from '../../src/sandbox/status-view.js';
import { planOf } from '../helpers/plans.js';

const change = (over: Partial<ResourceChange>): ResourceChange => ({
  address: 'sandbox.db',
  name: 'db',
  driver: 'lightweight',
  service: 'postgres',
  action: 'update',
  impact: 'restart',
  reasons: [],
  steps: ['restart'],
  before: {},
  after: {},
  fields: [{ field: 'database', before: 'edited', after: 'app', sensitive: false, impact: 'restart', metadataOnly: false }],
  drift: [],
  backup: false,
  requiresAllowDestroy: false,
  depends_on: [],
  ...over,
});

const plan = (c: ResourceChange) => planOf([c]);

const observed: SandboxStatus[] = [
  {
    name: 'db',
    environment: 'development',
    driver: 'lightweight',
    service: 'postgres',
    port: 5432,
    running: true,
    healthy: true,
    pid: 10,
    spec_hash: 'h',
    spec: null,
    data_bytes: 1,
  },
];

describe('statusReport', () => {
  it('a field changed in the manifest is "changed"', () => {
    expect(statusReport(plan(change({})), observed).sandboxes[0]).toMatchObject({
      state: 'changed',
      note: 'manifest changed: database; apply updates it',
    });
  });

  it('the same field after a hand edit of sandbox.json is drift, not a manifest change', () => {
    const edited = change({ drift: [{ kind: 'spec-edited' }] });
    expect(statusReport(plan(edited), observed).sandboxes[0]).toMatchObject({
      state: 'drift',
      note: 'drift: sandbox.json differs from the spec it was last applied with (edited by hand) (database); apply updates it',
    });
  });
});
