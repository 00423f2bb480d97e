// Pure: what is a secret, how it is hidden, and every salted hash that stands in for one.
// The one place for these facts (docs/manifest.md "Secrets"); bash/lib/sandbox.sh mirrors passwordHash
// only for `create` without --spec (docs/driver-protocol.md).
import type { SettingValue } from '../model/types.js';
import { envFileQuote } from '../util/env-quote.js';
import { sha256 } from '../util/hash.js';

// Whole words for TOKEN, KEY, PASS and AUTH: LLM_MAX_TOKENS is not a secret; API_KEY, masterauth and requirepass are.
const SENSITIVE_KEY =
  /PASSWORD|PASSWD|PASSPHRASE|SECRET|CREDENTIAL|REQUIREPASS|MASTERAUTH|(^|[_.-])(TOKEN|API_?KEY|KEY|PASS|AUTH)($|[_.-])/i;

/** The sensitivity rule for every name: variables, setting keys, env-file keys, plan fields. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

/** A variable is secret by its name, or because the manifest lists it under `sensitive:`. */
export function isSensitiveVariable(name: string, listed: readonly string[] = []): boolean {
  return isSensitiveKey(name) || listed.includes(name);
}

/**
 * The one rule for what a password may hold (docs/manifest.md "Secrets"): no control character, and
 * nothing the env file cannot carry for bash, python-dotenv and node's dotenv alike (a single quote
 * together with $, `, \ or "). Validate refuses the rest, so no output format ever has to drop or
 * mangle one; bash/lib/validate.sh applies the same rule. Undefined when the password is fine.
 */
export function passwordProblem(password: string): string | undefined {
  const control = [...password].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (control) return 'contains a control character (a line break, tab or NUL)';
  if (envFileQuote(password) === undefined)
    return 'contains a single quote together with $, `, \\ or ", which no env-file quoting carries for bash, python-dotenv and node alike';
  return undefined;
}

/** Manifest fields that always hold a secret, whatever fills them. */
export const SENSITIVE_FIELDS: ReadonlySet<string> = new Set(['password', 'secret', 'token', 'apiKey', 'api_key']);

/** What a secret shows instead of its value; the second when a plan changes it. */
export const MASKED = '(sensitive)';
export const MASKED_CHANGED = '(sensitive, changed)';

/** Last line of defence: scrub known secret values from any text before it leaves the process. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first so a secret that contains another is masked whole.
  for (const secret of [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(MASKED);
  }
  return out;
}

/** Salted by environment and sandbox, truncated: enough to see that a password changed, useless for guessing it. */
export function passwordHash(environment: string, name: string, password: string): string {
  return `sha256:${sha256(`iact-password\0${environment}\0${name}\0${password}`).slice(0, 16)}`;
}

/** The same for a setting named like a secret: what sandbox.json and plans hold instead of its value. */
export function settingHash(environment: string, name: string, key: string, value: SettingValue): string {
  return `sha256:${sha256(`iact-setting\0${environment}\0${name}\0${key}\0${String(value)}`).slice(0, 16)}`;
}

/**
 * A variable's value in plan inputs, keyed by the project's .iact/salt (a plan file posted in a pull
 * request must not let a weak value be guessed offline); unkeyed where no salt could be made.
 */
export function variableHash(name: string, value: string | undefined, salt = ''): string {
  if (value === undefined) return 'unset';
  return `sha256:${sha256(salt ? `iact-variable\0${salt}\0${name}\0${value}` : `iact-variable\0${name}\0${value}`).slice(0, 16)}`;
}

/** A secret inside a fingerprinted model built in code (it has no manifest text to hash instead). */
export function fingerprintSecret(value: string, salt = ''): string {
  return `secret:${sha256(`iact-fp\0${salt}\0${value}`).slice(0, 16)}`;
}

/** The rendered env file holds secrets in plain text: a plan keeps only this keyed hash of it ("" when absent). */
export function envFileHash(content: string | null, salt = ''): string {
  return content === null ? '' : sha256(`iact-env-file\0${salt}\0${content}`);
}

/** What `iact config` shows for a masked value: enough to see it changed, nothing to guess it from. */
export function maskedEnvValue(environment: string, key: string, value: string): string {
  return `(sensitive sha256:${sha256(`iact-env\0${environment}\0${key}\0${value}`).slice(0, 12)})`;
}
