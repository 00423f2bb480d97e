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
