// What `iact logs` accepts from a docker sandbox's `docker-container` file (docs/remote-engines.md
// "Projects on one engine"): its own name with or without a project id, nothing else.
import { describe, expect, it } from 'vitest';
import { recordedContainer } from '../../src/commands/logs.js';

describe('recordedContainer', () => {
  const sb = { environment: 'development', name: 'db' };
  it('accepts iact-ENV-NAME and iact-ENV-NAME.ID (12 hex digits)', () => {
    expect(recordedContainer(sb, 'iact-development-db\n')).toBe('iact-development-db');
    expect(recordedContainer(sb, 'iact-development-db.0123456789ab\n')).toBe('iact-development-db.0123456789ab');
  });
  it("refuses another sandbox's container, a bad id, or anything a docker filter would read as more", () => {
    for (const text of [
      'iact-development-cache.0123456789ab',
      'iact-staging-db',
      'iact-development-db.0123456789aB',
      'iact-development-db.0123456789',
      'iact-development-db.0123456789ab.x',
      'iact-development-db.*',
      'other',
      '',
    ])
      expect(recordedContainer(sb, text), text).toBeUndefined();
  });
});
