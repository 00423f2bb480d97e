// Pure: YAML text -> plain data plus the source position of every key and value.
import { createRequire } from 'node:module';
import type { Document, Node, Scalar } from 'yaml';
import { diag, type Diagnostic, type SourceLocation } from '../diagnostics.js';
import { MAX_DEPTH, MAX_EXPANDED_NODES, parseYamlFast } from './yaml-fast.js';

/** Manifests are small; anything bigger is a mistake or an attack, refused before parsing. */

/** The fix for the YAML parser's error codes that have one obvious fix. */
const YAML_FIXES: Record<string, string> = {
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs for indentation',
  MULTIPLE_DOCS: "a manifest is one YAML document: remove the second '---' and what follows it",
  BAD_INDENT: 'align this line with the other keys at its level (spaces only)',
  MISSING_CHAR: 'close the quote or bracket opened before this position',
  BLOCK_AS_IMPLICIT_KEY: 'put a space after the colon, or indent the nested block under its key',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line: check for a missing colon or a stray line break above',
};
export const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_ALIASES = 100;

export interface ValueOrigin {
  value: SourceLocation;
  key?: SourceLocation;
  /** How the scalar was written (PLAIN, QUOTE_SINGLE, ...) and its raw source, for column-precise messages. */
  scalarType?: string;
}

export interface ParsedYaml {
  data: unknown;
  /** Dotted path ("sandboxes.dev-postgres.port") -> where its value (and key) were written. */
  origins: Map<string, ValueOrigin>;
  diagnostics: Diagnostic[];
}

export function joinPath(segments: readonly (string | number)[]): string {
  return segments.join('.');
}

export function tooLargeDiagnostic(file: string, bytes: number): Diagnostic {
  return diag(`manifest is ${(bytes / 1024 / 1024).toFixed(1)} MB; the limit is ${MAX_MANIFEST_BYTES / 1024 / 1024} MB`, {
    location: { file, line: 1, col: 1 },
    code: 'yaml.too-large',
    fix: 'a manifest describes a few sandboxes and settings; check that this is the right file',
  });
}

/**
 * Manifests in the block-style subset most are written in take the fast path (1000 sandboxes: ~20 ms cold
 * instead of ~250 ms); anything else, and every error, goes to the full parser.
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  return refuseTooLarge(text, file) ?? parseYamlFast(text, file) ?? parseYamlFull(text, file);
}

function refuseTooLarge(text: string, file: string): ParsedYaml | undefined {
  const byteLength = Buffer.byteLength(text, 'utf8');
  if (byteLength <= MAX_MANIFEST_BYTES) return undefined;
  return { data: undefined, origins: new Map(), diagnostics: [tooLargeDiagnostic(file, byteLength)] };
}

let yamlPackage: typeof import('yaml') | undefined;

/** Loaded on the first manifest the fast path does not take: evaluating it cost ~15 ms of every start. */
function loadYaml(): typeof import('yaml') {
  yamlPackage ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlPackage;
}

/** The yaml package's parser with the position walk: any YAML, and the diagnostics for broken YAML. */
export function parseYamlFull(text: string, file: string): ParsedYaml {
  const tooLarge = refuseTooLarge(text, file);
  if (tooLarge) return tooLarge;
  const { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } = loadYaml();
  const origins = new Map<string, ValueOrigin>();

  const lineCounter = new LineCounter();
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: false, strict: true });
  } catch (error) {
    return {
      data: undefined,
      origins,
      diagnostics: [diag(`cannot parse YAML: ${(error as Error).message}`, { location: { file, line: 1, col: 1 }, code: 'yaml.syntax' })],
    };
  }

  const diagnostics: Diagnostic[] = [];
  // In `{ a: ${X:-y} }` the braces of ${...} close the flow mapping: the parser then reports a dozen
  // errors that never name the cause. One diagnostic per such value, with the fix, replaces them.
  const unquoted = doc.errors.length > 0 ? unquotedInterpolationsInFlow(text) : [];
  const firstError = Math.min(...doc.errors.map((e) => e.pos[0]));
  if (unquoted.length > 0 && unquoted[0]!.offset <= firstError + 1) {
    return {
      data: undefined,
      origins,
      diagnostics: unquoted.map((u) =>
        diag(`${u.expression} inside { } or [ ] must be quoted`, {
          location: at(u.offset),
          code: 'yaml.unquoted-interpolation',
          detail: 'in a flow mapping or sequence, the braces of ${...} end the collection, so YAML cannot read the line',
          fix: `quote it: "${u.expression}" (or write the mapping in block style, one key per line)`,
        }),
      ),
    };
  }
  for (const error of doc.errors) {
    const duplicate = error.code === 'DUPLICATE_KEY';
    // Where the parser's stack ran out depends on the stack size, not on the document: name the line only.
    const tooDeep = /Maximum call stack/.test(error.message);
    diagnostics.push(
      diag(duplicate ? `duplicate key: ${keyTextAt(text, error.pos[0])}` : `invalid YAML: ${firstLine(error.message, error.code)}`, {
        location: tooDeep ? { ...at(error.pos[0]), col: 1 } : at(error.pos[0]),
        code: duplicate ? 'yaml.duplicate-key' : 'yaml.syntax',
        fix: duplicate
          ? 'remove one of the two entries; YAML keeps only one of them'
          : (YAML_FIXES[error.code] ?? 'check indentation, quotes and brackets around this position'),
      }),
    );
  }
  if (diagnostics.length > 0) {
    const seen = new Set<string>();
    const unique = diagnostics.filter((d) => {
      const id = `${d.location?.line}:${d.location?.col}:${d.summary}`;
      return !seen.has(id) && Boolean(seen.add(id));
    });
    return { data: undefined, origins, diagnostics: unique.slice(0, 20) };
  }

  let expanded = 0;
  let aliases = 0;
  let aborted = false;
  const walk = (node: Node | null | undefined, path: (string | number)[], depth: number): unknown => {
    if (aborted || node == null) return null;
    if (++expanded > MAX_EXPANDED_NODES || depth > MAX_DEPTH) {
      abort(node, 'the document expands to too many nodes (alias bomb?)');
      return null;
    }
    if (isAlias(node)) {
      if (++aliases > MAX_ALIASES) {
        abort(node, `more than ${MAX_ALIASES} aliases`);
        return null;
      }
      const target = node.resolve(doc);
      if (!target) {
        abort(node, `unknown alias *${node.source}`);
        return null;
      }
      return walk(target as Node, path, depth + 1);
    }
    if (isScalar(node)) return node.value;
    if (isSeq(node)) {
      return node.items.map((item, index) => {
        const childPath = [...path, index];
        if (item && (item as Node).range) origins.set(joinPath(childPath), origin(item as Node));
        return walk(item as Node, childPath, depth + 1);
      });
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        if (!isScalar(keyNode) || typeof keyNode.value === 'object') {
          abort(keyNode ?? node, 'keys must be plain strings');
          return null;
        }
        const key = String(keyNode.value);
        if (key === '__proto__') {
          // Assigning it anywhere downstream would replace an object's prototype.
          diagnostics.push(
            diag('the key __proto__ is not allowed', { location: at(keyNode.range?.[0] ?? 0), code: 'yaml.key', fix: 'remove it' }),
          );
          continue;
        }
        const childPath = [...path, key];
        const valueNode = pair.value as Node | null;
        const keyLoc = keyNode.range ? at(keyNode.range[0]) : undefined;
        const valueOrigin: ValueOrigin = valueNode?.range ? origin(valueNode) : { value: keyLoc ?? { file, line: 1, col: 1 } };
        origins.set(joinPath(childPath), { ...valueOrigin, key: keyLoc });
        // Object.create(null) + defineProperty: a "__proto__" key is data, not a prototype change.
        Object.defineProperty(out, key, {
          value: walk(valueNode, childPath, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return { ...out };
    }
    return null;
  };
  const origin = (node: Node): ValueOrigin => ({
    value: at(node.range?.[0] ?? 0),
    scalarType: isScalar(node) ? String((node as Scalar).type ?? '') : undefined,
  });
  const abort = (node: Node, why: string): void => {
    if (aborted) return;
    aborted = true;
    diagnostics.push(
      diag(`YAML refused: ${why}`, {
        location: at(node.range?.[0] ?? 0),
        code: 'yaml.alias',
        fix: 'write the values out instead of nesting aliases; manifests do not need anchors for more than a few shared blocks',
      }),
    );
  };

  const data = walk(doc.contents as Node | null, [], 0);
  if (aborted) return { data: undefined, origins, diagnostics };
  return { data, origins, diagnostics };
}

function firstLine(message: string, code: string): string {
  if (code === 'MULTIPLE_DOCS') return 'a manifest is one YAML document; found a second one (---)';
  if (/Maximum call stack/.test(message)) return 'nesting too deep';
  // Garbage input can make the parser quote kilobytes of it: keep the message readable.
  const line = message
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '?');
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

function keyTextAt(text: string, offset: number): string {
  const rest = text
    .slice(offset, offset + 80)
    .split(/[:\n]/)[0]!
    .trim();
  return rest.length > 0 ? rest : '(empty)';
}

/**
 * `${...}` written unquoted inside a flow collection (`{ ... }`, `[ ... ]`): where it starts (offset
 * into text) and the expression as written. Quoted strings and comments are skipped.
 */
export function unquotedInterpolationsInFlow(text: string): Array<{ offset: number; expression: string }> {
  const found: Array<{ offset: number; expression: string }> = [];
  let depth = 0;
  let quote: '"' | "'" | undefined;
  let previous = '\n'; // last significant character: a '{' opens a collection only where a value may start
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
      else if (ch === '\n' && depth === 0) quote = undefined;
      continue;
    }
    if (ch === '#' && /\s/.test(text[i - 1] ?? '\n')) {
      while (i < text.length && text[i] !== '\n') i++;
      previous = '\n';
      continue;
    }
    if (ch === '$' && text[i + 1] === '{') {
      const end = text.indexOf('}', i);
      const stop = end === -1 ? text.length : end + 1;
      if (depth > 0) found.push({ offset: i, expression: text.slice(i, stop).split('\n')[0]! });
      i = stop - 1;
      previous = '}';
      continue;
    }
    if ((ch === '"' || ch === "'") && /[\n:,{[-]/.test(previous)) quote = ch;
    else if ((ch === '{' || ch === '[') && /[\n:,{[-]/.test(previous)) depth++;
    else if ((ch === '}' || ch === ']') && depth > 0) depth--;
    else if (ch === '\n' && depth === 0) {
      previous = '\n';
      continue;
    }
    if (!/\s/.test(ch)) previous = ch;
  }
  return found;
}
