// `iact export --format kubernetes [--env E] [--operator cnpg] [--include-secrets] [--out FILE]` (docs/kubernetes.md).
import writeFileAtomic from 'write-file-atomic';
import { DiagnosticError, diag } from '../diagnostics.js';
import { buildKubernetesExport, renderKubernetesYaml, type KubernetesOperator } from '../export/kubernetes.js';
import { redact } from '../secrets/index.js';
import type { CommandIO } from './io.js';
import { loadResolved, selectEnvironments } from './shared.js';

interface ExportOptions {
  env?: string;
  dir?: string;
  format?: string;
  operator?: KubernetesOperator;
  includeSecrets?: boolean;
  out?: string;
}

export default async function exportCommand(opts: ExportOptions, io: CommandIO): Promise<number> {
  if (opts.format !== 'kubernetes') {
    throw new DiagnosticError(diag(`unknown export format "${opts.format ?? ''}"`, { fix: 'use --format kubernetes' }));
  }
  const selected = selectEnvironments(opts, io);
  const environment = selected.environments[0]!;
  const resolved = await loadResolved(selected.root, environment, io.env, io.stderr);
  const includeSecrets = Boolean(opts.includeSecrets);
  const result = buildKubernetesExport(resolved, { operator: opts.operator, includeSecrets });
  if (result.problems.length > 0) {
    throw new DiagnosticError(result.problems.map((p) => diag(p.summary, { location: resolved.locations[p.path], fix: p.fix })));
  }
  const header = [
    `iact export --format kubernetes${opts.operator ? ` --operator ${opts.operator}` : ''}: ${environment}, from ${resolved.file}.`,
    `Apply into a namespace of its own: kubectl apply -n NAMESPACE -f FILE (docs/kubernetes.md).`,
  ];
  const text = renderKubernetesYaml(result, header);
  // Last line of defence: without --include-secrets no secret value may leave, whatever field it sits in.
  const output = includeSecrets ? text : redact(text, resolved.secretValues);
  if (!opts.out) {
    io.stdout(output);
    return 0;
  }
  try {
    await writeFileAtomic(opts.out, output, { mode: includeSecrets ? 0o600 : 0o644 });
  } catch (error) {
    throw new DiagnosticError(
      diag(`cannot write ${opts.out} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
        detail: error instanceof Error ? error.message : String(error),
        fix: 'check that its folder exists and is writable, or pass another --out path',
      }),
    );
  }
  const count = result.documents.filter((d) => d.object).length;
  io.stderr(
    `Wrote ${count} Kubernetes objects of ${environment} to ${opts.out}${includeSecrets ? ' (mode 0600: it holds secrets)' : ''}.\n`,
  );
  return 0;
}
