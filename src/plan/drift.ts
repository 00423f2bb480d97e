// Pure: the sentence for each drift kind (docs/plan-json.md, "Drift kinds"). The only place that
// words drift; everything else branches on the kind.
import type { Drift, DriftKind } from './types.js';

const SENTENCES: Record<DriftKind, (detail: string | undefined) => string> = {
  stopped: () => 'service is not running',
  unhealthy: (port) => `port ${port ?? '?'} is not accepting connections`,
  'half-made': () => 'half-made: its create never finished, or sandbox.json is missing or unreadable',
  'spec-edited': () => 'sandbox.json differs from the spec it was last applied with (edited by hand)',
  'directory-missing': () => 'the sandbox directory is gone although an earlier apply created it',
  'login-failed': () => "the server refuses the manifest's password (a login with it fails)",
  'other-driver': (driver) => `half-made under the ${driver ?? 'another'} driver (its create never finished, or sandbox.json is unreadable)`,
  'data-missing': () => 'its data directory is gone (deleted under it); only a new one can be made',
};

export function driftSentence(drift: Drift): string {
  return SENTENCES[drift.kind](drift.detail);
}

export function hasDrift(drifts: readonly Drift[], kind: DriftKind): boolean {
  return drifts.some((d) => d.kind === kind);
}
