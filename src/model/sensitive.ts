// Names that hold secrets: one rule for the planner, every renderer and the diff, beside the
// resolver's own tracking of values that come from sensitive variables (defence in depth).

// Whole words for TOKEN, KEY, PASS and AUTH: LLM_MAX_TOKENS is not a secret; API_KEY, masterauth and requirepass are.
const SENSITIVE_KEY = /PASSWORD|PASSWD|PASSPHRASE|SECRET|CREDENTIAL|REQUIREPASS|MASTERAUTH|(^|[_.-])(TOKEN|API_?KEY|KEY|PASS|AUTH)($|[_.-])/i;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}
