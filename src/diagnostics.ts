// Diagnostics: every user-facing error is a summary, a location and a fix (Terraform's tfdiags idiom).

export type Severity = 'error' | 'warning';

export interface SourceLocation {
  file: string; // path as the user should see it (relative to the project root when possible)
  line: number; // 1-based
  col: number; // 1-based
}

export interface Diagnostic {
  severity: Severity;
  summary: string;
  location?: SourceLocation;
  detail?: string;
  fix?: string;
  code?: string; // stable identifier for tests and docs, e.g. "schema.type", "interp.missing"
  subject?: string; // what it is about, for code that acts on it (a sandbox address: "sandbox.db")
}

export function diag(summary: string, opts: Omit<Diagnostic, 'summary' | 'severity'> & { severity?: Severity } = {}): Diagnostic {
  return { severity: opts.severity ?? 'error', summary, ...opts };
}

/** Thrown to abort a command with one or more diagnostics; the CLI prints them and exits 1. */
export class DiagnosticError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic | Diagnostic[]) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map((d) => d.summary).join('; '));
    this.name = 'DiagnosticError';
    this.diagnostics = list;
  }
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}

/** `path/to/file.yaml:LINE:COL  message` then the fix, as `iact validate` prints it. */
export function formatDiagnostic(d: Diagnostic): string {
  const head = d.location ? `${formatLocation(d.location)}  ${d.severity}: ${d.summary}` : `${d.severity}: ${d.summary}`;
  const lines = [head];
  if (d.detail) lines.push(...d.detail.split('\n').map((l) => `  ${l}`));
  if (d.fix) lines.push(`  fix: ${d.fix}`);
  return lines.join('\n');
}

export function formatDiagnostics(diags: readonly Diagnostic[]): string {
  return diags.map(formatDiagnostic).join('\n');
}

const SYSTEM_FIXES: Record<string, (path: string) => { summary: string; fix: string }> = {
  EACCES: (p) => ({
    summary: `permission denied: ${p}`,
    fix: `check the owner and mode of ${p} and its folder, or run iact as a user who may write there`,
  }),
  EPERM: (p) => ({
    summary: `operation not permitted on ${p}`,
    fix: `check ${p}: an immutable (chattr +i) or foreign-owned file cannot be replaced`,
  }),
  EROFS: (p) => ({
    summary: `${p} is on a read-only file system`,
    fix: 'run iact in a writable checkout (it keeps its state in .iact/), or mount it read-write',
  }),
  ENOSPC: (p) => ({ summary: `no space left on the device of ${p}`, fix: 'free some disk space, then run it again' }),
  ENOENT: (p) => ({
    summary: `no such file or folder: ${p}`,
    fix: 'check that the folder exists and is writable (a read-only mount can report this too)',
  }),
};

/** A file-system error from Node (code, syscall, path) as a diagnostic with a fix; undefined for other errors. */
export function systemErrorDiagnostic(error: unknown): Diagnostic | undefined {
  const e = error as { code?: unknown; path?: unknown; syscall?: unknown };
  if (typeof e?.code !== 'string' || typeof e.path !== 'string') return undefined;
  // Atomic writes go through FILE.<number> or FILE.<...>.tmp: the folder is what the user must fix.
  const temporary = /\.(\d+|tmp)$/.test(e.path);
  const where = temporary ? e.path.slice(0, Math.max(1, e.path.lastIndexOf('/'))) : e.path;
  const known = SYSTEM_FIXES[e.code];
  const summary = known
    ? known(where).summary
    : `${typeof e.syscall === 'string' ? e.syscall : 'file operation'} failed on ${where} (${e.code})`;
  return diag(summary, {
    detail:
      typeof e.syscall === 'string'
        ? `while trying to ${e.syscall} ${temporary ? `a temporary file in it, ${e.path}` : 'it'} (${e.code})`
        : undefined,
    fix: known ? known(where).fix : 'check the path and its permissions',
    code: `system.${e.code.toLowerCase()}`,
  });
}
