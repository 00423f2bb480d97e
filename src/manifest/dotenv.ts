// .env text -> variables. Node's built-in util.parseEnv (20.12+) is dotenv's grammar at no import
// cost (dotenv's module costs ~10 ms of cold start); older Node falls back to dotenv's parse.
import { createRequire } from 'node:module';
import util from 'node:util';
import { diag, type Diagnostic } from '../diagnostics.js';

type Parse = (text: string) => Record<string, string>;

/** .env files are read whole by every plan (and by each bash driver call): at most this many bytes (docs/manifest.md "Files"; bash/lib/common.sh holds the same number). */
export const MAX_DOTENV_BYTES = 1024 * 1024;

let parser: Parse | undefined;

export function parseDotenv(text: string): Record<string, string> {
  parser ??= (util as unknown as { parseEnv?: Parse }).parseEnv ?? ((createRequire(import.meta.url)('dotenv') as { parse: Parse }).parse);
  return { ...parser(text) };
}

// The lines the parser reads as variables: KEY=VALUE and export KEY=VALUE (Node's parseEnv has no KEY: VALUE).
const VARIABLE_LINE = /^\s*(?:export\s+)?[\w.-]+\s*=/;

/**
 * Lines dotenv would silently misread: anything that is not a variable, a comment or blank (it
 * can swallow the next variable), a quote that never closes (the value keeps the quote), and an
 * escape node's dotenv and python-dotenv read differently (an error: docs/manifest.md "Variables and interpolation"). Pure.
 */
export function lintDotenv(text: string, file: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = VARIABLE_LINE.exec(line);
    if (!match) {
      diagnostics.push(
        diag('not a KEY=VALUE line', {
          location: { file, line: i + 1, col: line.length - line.trimStart().length + 1 },
          detail: 'dotenv skips it and may read it together with the next line, losing that variable',
          fix: 'write it as KEY=VALUE (letters, digits, _ . - in the key), or start it with # to make it a comment',
          code: 'dotenv.syntax',
        }),
      );
      continue;
    }
    const value = line.slice(match[0].length).trimStart();
    const quote = value[0];
    if (quote !== '"' && quote !== "'" && quote !== '`') continue;
    const key = match[0].replace(/^\s*(?:export\s+)?/, '').replace(/\s*=$/, '');
    const at = { file, line: i + 1, col: line.indexOf(quote) + 1 };
    let body: string | undefined = closes(value.slice(1), quote);
    if (body === undefined) {
      // A quoted value may span lines; it ends on the first line holding the closing quote.
      const end = lines.findIndex((l, j) => j > i && closes(l, quote) !== undefined);
      if (end !== -1) {
        body = [value.slice(1), ...lines.slice(i + 1, end), closes(lines[end]!, quote)].join('\n');
        i = end;
      }
    }
    if (body === undefined) {
      diagnostics.push(
        diag(`the ${quote} quote opened here is never closed`, {
          severity: 'warning',
          location: at,
          detail: 'the value is read as written, the quote included',
          fix: `close it with ${quote} at the end of the value`,
          code: 'dotenv.quote',
        }),
      );
      continue;
    }
    const differs = readersDiffer(body, quote);
    if (differs) {
      // Applications read .env with node's dotenv or python-dotenv: iact must read what both read.
      diagnostics.push(
        diag(`${key} holds ${differs}, which node's dotenv and python-dotenv read differently`, {
          location: at,
          detail: 'iact, your application and its tests would each get another value (the value itself is not shown: it may be a secret)',
          fix: quote === '`' ? `quote the value with ' or " instead` : "write it without backslash escapes: in single quotes every other character stays as written",
          code: 'dotenv.escape',
        }),
      );
    }
  }
  return diagnostics;
}

/**
 * What node's dotenv and python-dotenv read differently in a quoted value, or undefined: backticks
 * (node strips them, python keeps them); in double quotes every escape but \n (python decodes \" \\ \t ...,
 * node only \n and \r); in single quotes \\ and \' (python decodes them, node keeps them).
 */
function readersDiffer(body: string, quote: string): string | undefined {
  if (quote === '`') return 'a backtick-quoted value';
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') continue;
    const next = body[i + 1] ?? '';
    if (quote === '"' && next !== 'n') return `the escape \\${next} in double quotes`;
    if (quote === "'" && (next === '\\' || next === "'")) return `the escape \\${next} in single quotes`;
    i++;
  }
  return undefined;
}

/** The text before the closing quote (a backslash escapes the next character), or undefined when it never closes. */
function closes(text: string, quote: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return text.slice(0, i);
  }
  return undefined;
}
