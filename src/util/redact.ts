// Last line of defence: scrub known secret values from any text before it leaves the process.
export const MASK = '(sensitive)';

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first so a secret that contains another is masked whole.
  for (const secret of [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(MASK);
  }
  return out;
}
