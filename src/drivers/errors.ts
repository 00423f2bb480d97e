// Structured driver errors (docs/driver-protocol.md, "Errors"): a failed script run becomes a
// DriverError with a kind from a closed set; callers branch on kind and retryable, never on text.
import { diag, type Diagnostic } from '../diagnostics.js';

/** The kinds a driver script reports in its `iact-error:` line (bash/lib/common.sh IACT_ERROR_KINDS). */
export const SCRIPT_ERROR_KINDS = [
  'usage',
  'not-found',
  'port-in-use',
  'missing-binary',
  'missing-image',
  'no-engine',
  'refused-setting',
  'start-failed',
  'login-failed',
  'locked',
  'backup-failed',
  'init-failed',
  'io',
  'internal',
] as const;

/** Kinds only this side can see: the run itself timed out, was interrupted, or printed no valid result. */
export const RUN_ERROR_KINDS = ['timeout', 'interrupted', 'bad-output'] as const;

export type DriverErrorKind = (typeof SCRIPT_ERROR_KINDS)[number] | (typeof RUN_ERROR_KINDS)[number];

/** A next attempt may succeed without a change to the manifest (bash/lib/common.sh IACT_RETRYABLE_KINDS, plus timeout). */
const RETRYABLE: ReadonlySet<DriverErrorKind> = new Set<DriverErrorKind>([
  'port-in-use',
  'start-failed',
  'login-failed',
  'locked',
  'no-engine',
  'io',
  'timeout',
]);

export function isRetryableKind(kind: DriverErrorKind): boolean {
  return RETRYABLE.has(kind);
}

export interface DriverErrorFields {
  summary: string;
  detail?: string;
  fix?: string;
  kind: DriverErrorKind;
  /** Defaults to the kind's (isRetryableKind). */
  retryable?: boolean;
  /** The script's exit code; undefined when it never exited (timeout, signal, not started). */
  exit?: number;
  /** What ran, secrets redacted. */
  command?: string;
  /** The last lines of its stderr for people (the iact-error line left out), secrets redacted. */
  stderrTail?: string;
  /** The message: defaults to the summary. */
  message?: string;
}

/** A driver failed; never holds a secret (the runner redacts before building it). */
export class DriverError extends Error {
  readonly summary: string;
  readonly detail: string;
  readonly fix: string;
  readonly kind: DriverErrorKind;
  readonly retryable: boolean;
  readonly exit: number | undefined;
  readonly command: string;
  readonly stderrTail: string;

  constructor(fields: DriverErrorFields) {
    super(fields.message ?? fields.summary);
    this.name = 'DriverError';
    this.summary = fields.summary;
    this.detail = fields.detail ?? '';
    this.fix = fields.fix ?? '';
    this.kind = fields.kind;
    this.retryable = fields.retryable ?? isRetryableKind(fields.kind);
    this.exit = fields.exit;
    this.command = fields.command ?? '';
    this.stderrTail = fields.stderrTail ?? '';
  }

  /** The exit code under the name execa uses. */
  get exitCode(): number | undefined {
    return this.exit;
  }
}

export const ERROR_LINE_PREFIX = 'iact-error: ';

export interface ReportedError {
  summary: string;
  detail: string;
  fix: string;
  kind: DriverErrorKind;
  retryable: boolean;
}

const isKind = (value: unknown): value is DriverErrorKind => (SCRIPT_ERROR_KINDS as readonly unknown[]).includes(value);

/**
 * What a script reported on stderr: its last `iact-error:` line when it has one; otherwise (a script
 * from before structured errors) its last `error:` line and the `fix:` after it, kind by exit code.
 */
export function reportedError(stderr: string, exit: number | undefined): ReportedError | undefined {
  const lines = stderr.split('\n');
  const structured = lines.filter((l) => l.startsWith(ERROR_LINE_PREFIX)).pop();
  if (structured) {
    try {
      const data = JSON.parse(structured.slice(ERROR_LINE_PREFIX.length)) as Record<string, unknown>;
      if (typeof data.summary === 'string' && isKind(data.kind)) {
        return {
          summary: data.summary,
          detail: typeof data.detail === 'string' ? data.detail : '',
          fix: typeof data.fix === 'string' ? data.fix : '',
          kind: data.kind,
          retryable: typeof data.retryable === 'boolean' ? data.retryable : isRetryableKind(data.kind),
        };
      }
    } catch {
      // not JSON: read the text below
    }
  }
  let at = lines.length - 1;
  while (at >= 0 && !lines[at]!.trim().startsWith('error:')) at -= 1;
  if (at < 0) return undefined;
  const summary = lines[at]!.trim().slice('error:'.length).trim();
  const fixLine = lines.slice(at + 1).find((l) => l.trim().startsWith('fix:'));
  const kind: DriverErrorKind = exit === 2 ? 'usage' : 'internal';
  return { summary, detail: '', fix: fixLine ? fixLine.trim().slice('fix:'.length).trim() : '', kind, retryable: false };
}

/** Stderr for people: the machine line left out. */
export function humanStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.startsWith(ERROR_LINE_PREFIX))
    .join('\n');
}

/** The diagnostic of a driver failure: its summary and fix, what ran as the detail. */
export function driverDiagnostic(error: DriverError, context?: string): Diagnostic {
  const detail = [error.detail, error.command ? `command: ${error.command}` : ''].filter(Boolean).join('\n');
  return diag(context ? `${context}: ${error.summary}` : error.summary, {
    detail: detail || undefined,
    fix: error.fix || 'run `iact doctor` to check what the driver needs',
    code: `driver.${error.kind}`,
  });
}
