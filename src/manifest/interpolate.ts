// Pure: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `$$`
// on one parsed string value (never on raw file text, so YAML structure cannot be injected).

export type Lookup = (name: string) => string | undefined;

export interface InterpolationProblem {
  kind: 'missing' | 'syntax';
  variable?: string;
  /** Offset of the `${` in the input string. */
  index: number;
  message: string;
  /** The manifest's own `${VAR:?message}` text. */
  hint?: string;
}

export interface Interpolated {
  value: string;
  /** Variables referenced (set or not), in order of first use. */
  variables: string[];
  problems: InterpolationProblem[];
  /** True when the string contained at least one `${...}` (so its type may be coerced). */
  substituted: boolean;
  /** Unset variables left as `${NAME}` (allowMissing). */
  kept: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export interface InterpolateOptions {
  allowMissing?: boolean;
  /** Consulted only where an unset variable would be an error (validate's .env.example values). */
  fallback?: Lookup;
  onFallback?: (name: string) => void;
}

export function interpolate(input: string, lookup: Lookup, opts: InterpolateOptions = {}): Interpolated {
  const variables: string[] = [];
  const problems: InterpolationProblem[] = [];
  const kept: string[] = [];
  let substituted = false;
  const use = (name: string) => {
    if (!variables.includes(name)) variables.push(name);
  };

  const expand = (text: string, base: number): string => {
    let out = '';
    let i = 0;
    while (i < text.length) {
      const ch = text[i]!;
      if (ch !== '$') {
        out += ch;
        i++;
        continue;
      }
      const next = text[i + 1];
      if (next === '$') {
        out += '$';
        i += 2;
        continue;
      }
      if (next !== '{') {
        out += '$';
        i++;
        continue;
      }
      const close = matchingBrace(text, i + 2);
      if (close < 0) {
        problems.push({ kind: 'syntax', index: base + i, message: 'unterminated ${ (missing })' });
        out += text.slice(i);
        break;
      }
      substituted = true;
      const body = text.slice(i + 2, close);
      out += substitute(body, base + i);
      i = close + 1;
    }
    return out;
  };

  const substitute = (body: string, index: number): string => {
    const match = NAME.exec(body);
    if (!match) {
      problems.push({ kind: 'syntax', index, message: `invalid variable reference \${${body}}: a name is letters, digits and _` });
      return '';
    }
    const name = match[0];
    use(name);
    const rest = body.slice(name.length);
    const value = lookup(name);
    const operator = /^(:-|-|:\?|\?)/.exec(rest)?.[0];
    if (rest.length > 0 && !operator) {
      problems.push({
        kind: 'syntax',
        index,
        message: `invalid variable reference \${${body}}: use \${${name}}, \${${name}:-default} or \${${name}:?message}`,
      });
      return '';
    }
    const argument = operator ? rest.slice(operator.length) : '';
    const emptyCounts = operator?.startsWith(':') ?? false;
    const missing = value === undefined || (emptyCounts && value === '');
    if (!missing) return value;
    if (operator === ':-' || operator === '-') return expand(argument, index + 2 + name.length + operator.length);
    const placeholder = opts.fallback?.(name);
    if (placeholder !== undefined) {
      opts.onFallback?.(name);
      return placeholder;
    }
    if (opts.allowMissing) {
      kept.push(name);
      return `\${${name}}`;
    }
    const custom = operator ? expand(argument, index) : '';
    problems.push({
      kind: 'missing',
      variable: name,
      index,
      message: `variable ${name} is ${value === '' ? 'empty' : 'not set'}`,
      ...(custom ? { hint: custom } : {}),
    });
    return '';
  };

  const value = expand(input, 0);
  return { value, variables, problems, substituted, kept };
}

/** Index of the `}` closing a `${` whose body starts at `start`; nested `${...}` allowed in defaults. */
function matchingBrace(text: string, start: number): number {
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}
