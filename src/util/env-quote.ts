// Pure: quoting a value so `source` in bash, python-dotenv and node's dotenv all read it back unchanged.

/**
 * Single quotes are literal in all three readers. A value with a single quote goes in double
 * quotes, which is safe only without $ ` \ " (each reader treats those differently).
 * Returns undefined for values no quoting can carry to all three (a newline, NUL, or both kinds of trouble).
 */
export function envFileQuote(value: string): string | undefined {
  if (/[\r\n\0]/.test(value)) return undefined;
  if (!value.includes("'")) return `'${value}'`;
  if (/[$`\\"]/.test(value)) return undefined;
  return `"${value}"`;
}
