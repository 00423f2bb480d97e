// What `iact doctor` reports: plain data, produced by the probes, read by the pure renderers.
import type { DriverName } from '../model/types.js';

export type CheckState = 'ok' | 'missing' | 'warning';

export interface CheckResult {
  driver: DriverName;
  /** Stable identifier for tests and scripts, e.g. "bash", "postgres", "cgroup-memory". */
  id: string;
  /** What is needed, in a few words: "bash >= 4.4", "PostgreSQL binaries". */
  need: string;
  state: CheckState;
  /** What this machine has: a version, a path, or why not. */
  found: string;
  /** The command or step that fixes a missing prerequisite. */
  fix?: string;
  /** A missing required check makes the whole driver unusable; others limit it (one service, memory limits). */
  required: boolean;
}

export interface DriverVerdict {
  driver: DriverName;
  usable: boolean;
  /** Services the driver can run here (those whose binaries or images are present). */
  services: string[];
}

export const DEFAULT_DRIVER: DriverName = 'lightweight';
