// Pure: a line-oriented parser for the block-style YAML subset manifests are written in. It returns
// exactly what the full parser (yaml.ts) returns for the same text, or undefined as soon as the text
// leaves the subset; it never reports errors, the full parser does that.
import type { SourceLocation } from '../diagnostics.js';
import type { ParsedYaml, ValueOrigin } from './yaml.js';

// Limits of yaml.ts's walk, here so that both paths share them: the fast path bails where the walk refuses.
/** Upper bound on nodes visited while expanding aliases (a "billion laughs" document stops here). */
export const MAX_EXPANDED_NODES = 100_000;
/** Deepest nesting of values, the root being 0. */
export const MAX_DEPTH = 64;

const SPACE = 32;
const DQUOTE = 34;
const HASH = 35;
const SQUOTE = 39;
const COMMA = 44;
const DASH = 45;
const DOT = 46;
const COLON = 58;
const LBRACKET = 91;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;

/** Characters whose handling differs between YAML readers (tabs, CR, control and Unicode line breaks, BOM). */
const OUTSIDE_SUBSET_CHARS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;
const INT = /^[-+]?[0-9]+$/;
/** yaml's core-schema floats, octal and hex ints: valid, but not worth reproducing here. */
const OTHER_NUMBER =
  /^(?:0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/;
/** yaml reads an implicit key of more than 1024 characters as an error. */
const MAX_KEY_CHARS = 1000;

/** Double-quoted escapes that stand for one character, as yaml's resolve-flow-scalar maps them. */
const ESCAPES: Readonly<Record<string, string>> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  e: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
};

/** Thrown where the text leaves the subset; caught once at the top. */
class OutsideSubset {}
const OUTSIDE = new OutsideSubset();
function bail(): never {
  throw OUTSIDE;
}

/** The text's data and origins when it is in the subset; undefined means "ask the full parser". */
export function parseYamlFast(text: string, file: string): ParsedYaml | undefined {
  if (OUTSIDE_SUBSET_CHARS.test(text)) return undefined;
  const parser = new SubsetParser(text, file);
  try {
    const data = parser.document();
    return { data, origins: parser.origins, diagnostics: [] };
  } catch (error) {
    if (error === OUTSIDE) return undefined;
    throw error;
  }
}

/**
 * Recursive descent over lines. `line` is the current content line (not blank, not only a comment) and
 * `pos` an index into it, which is also its 0-based column; scanning stays within one line, mostly with
 * indexOf, because this runs cold (interpreted) on every `iact plan`.
 */
class SubsetParser {
  readonly origins = new Map<string, ValueOrigin>();
  private nodes = 0;
  /** 1-based number of the current line. */
  private lineNo = 0;
  /** Offset in the text where the line after the current one starts. */
  private next = 0;
  private line = '';
  private pos = 0;
  private eof = false;
  /** Only the first content line may be a `---` document start. */
  private firstLine = true;
  /** How the last scalar was written: yaml's Scalar.type. */
  private style = 'PLAIN';

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  document(): unknown {
    this.nextLine();
    if (!this.eof && this.pos === 0 && isDocumentMarker(this.line)) {
      this.pos = 3;
      this.endOfLine();
    }
    // An empty document is rare in manifests: the full parser takes it (and a root scalar or flow collection, below).
    if (this.eof) bail();
    this.enter(0);
    const data = this.blockCollection('', 0);
    if (!this.eof) bail();
    return data;
  }

  /** A position on the current line, as yaml's LineCounter reports it (1-based, UTF-16 columns). */
  private loc(index: number): SourceLocation {
    return { file: this.file, line: this.lineNo, col: index + 1 };
  }

  private skipSpaces(index: number): number {
    const { line } = this;
    // Bounded: a read past the end would deoptimize the compiled code.
    while (index < line.length && line.charCodeAt(index) === SPACE) index++;
    return index;
  }

  /** Counts a value node the way yaml.ts's walk does, so documents it refuses are left to it. */
  private enter(depth: number): void {
    if (++this.nodes > MAX_EXPANDED_NODES || depth > MAX_DEPTH) bail();
  }

  private record(path: string, value: SourceLocation, scalarType: string | undefined, key: SourceLocation | undefined): void {
    // Same objects (and property order) as yaml.ts: sequence items have no `key` at all.
    this.origins.set(path, key === undefined ? { value, scalarType } : { value, scalarType, key });
  }

  /** Moves to the next line with content, skipping blank and comment-only lines. */
  private nextLine(): void {
    const { text } = this;
    for (;;) {
      const start = this.next;
      if (start > text.length) {
        this.eof = true;
        this.line = '';
        this.pos = 0;
        return;
      }
      this.lineNo++;
      const newline = text.indexOf('\n', start);
      const end = newline === -1 ? text.length : newline;
      this.next = end + 1;
      let p = start;
      while (p < end && text.charCodeAt(p) === SPACE) p++;
      if (p === end || text.charCodeAt(p) === HASH) continue;
      this.line = text.slice(start, end);
      this.pos = p - start;
      if (this.pos === 0 && isDocumentMarker(this.line) && !(this.firstLine && this.line.charCodeAt(0) === DASH)) bail();
      this.firstLine = false;
      return;
    }
  }

  /** After a complete value: only spaces and a comment may follow on its line. */
  private endOfLine(): void {
    const p = this.skipSpaces(this.pos);
    if (p !== this.line.length && !(this.line.charCodeAt(p) === HASH && p > this.pos)) bail();
    this.nextLine();
  }

  /** `- ` (or a lone `-`) starts a sequence item; `-5` and `-x` are scalars. */
  private isDashItem(index: number): boolean {
    const { line } = this;
    return line.charCodeAt(index) === DASH && (index + 1 === line.length || line.charCodeAt(index + 1) === SPACE);
  }

  /** A block mapping or sequence whose first entry starts at `pos`; its column is its indentation. */
  private blockCollection(prefix: string, depth: number): unknown {
    return this.isDashItem(this.pos) ? this.blockSeq(this.pos, prefix, depth) : this.blockMap(this.pos, prefix, depth);
  }

  private blockMap(indent: number, prefix: string, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      const keyStart = this.pos;
      const key = this.mapKey();
      // __proto__ and duplicates are diagnostics of the full parser.
      if (key === '__proto__' || Object.hasOwn(out, key)) bail();
      this.enter(depth + 1);
      out[key] = this.mapValue(indent, prefix + key, depth + 1, this.loc(keyStart));
      if (this.eof || this.pos < indent) return out;
      if (this.pos > indent || this.isDashItem(this.pos)) bail();
    }
  }

  /** Reads `key:` at `pos` and leaves `pos` after the colon. */
  private mapKey(): string {
    const { line } = this;
    const start = this.pos;
    const first = line.charCodeAt(start);
    let key: string;
    let colon: number;
    if (first === DQUOTE || first === SQUOTE) {
      key = this.quoted();
      colon = this.pos;
      if (line.charCodeAt(colon) !== COLON) bail();
    } else {
      colon = this.plainKeyColon(start);
      if (colon === -1 || line.charCodeAt(colon - 1) === SPACE) bail();
      key = line.slice(start, colon);
      // `1:`, `true:`, `null:` are not string keys to yaml.
      if (typeof resolvePlain(key) !== 'string') bail();
    }
    if (colon - start > MAX_KEY_CHARS) bail();
    if (colon + 1 < line.length && line.charCodeAt(colon + 1) !== SPACE) bail();
    this.pos = colon + 1;
    return key;
  }

  /** Index of the `: ` (or line-final `:`) ending a plain key at `start`, or -1 when the line has none. */
  private plainKeyColon(start: number): number {
    const { line } = this;
    if (!startsPlain(line, start)) return -1;
    let colon = line.indexOf(':', start + 1);
    while (colon !== -1 && colon + 1 < line.length && line.charCodeAt(colon + 1) !== SPACE) colon = line.indexOf(':', colon + 1);
    if (colon === -1) return -1;
    // A ` #` before it starts a comment: no key on this line.
    const comment = line.indexOf(' #', start);
    return comment !== -1 && comment < colon ? -1 : colon;
  }

  /** Whether the entry at `start` is `key: ...` (a compact mapping after `- `). */
  private startsKey(start: number): boolean {
    const first = this.line.charCodeAt(start);
    if (first !== DQUOTE && first !== SQUOTE) return this.plainKeyColon(start) !== -1;
    this.quoted();
    const isKey = this.line.charCodeAt(this.pos) === COLON;
    this.pos = start;
    return isKey;
  }

  /** The value after `key:`: on the same line, on the lines below (deeper, or a `- ` list at the key's column), or empty. */
  private mapValue(indent: number, path: string, depth: number, keyLoc: SourceLocation): unknown {
    const p = this.skipSpaces(this.pos);
    if (p !== this.line.length && this.line.charCodeAt(p) !== HASH) {
      this.pos = p;
      const value = this.inlineValue(path, depth, keyLoc);
      this.endOfLine();
      return value;
    }
    // yaml places an empty value after the spaces that follow the colon.
    const emptyLoc = this.loc(p);
    this.nextLine();
    if (!this.eof && (this.pos > indent || (this.pos === indent && this.isDashItem(this.pos)))) {
      this.record(path, this.loc(this.pos), undefined, keyLoc);
      return this.blockCollection(`${path}.`, depth);
    }
    this.record(path, emptyLoc, 'PLAIN', keyLoc);
    return null;
  }

  private blockSeq(indent: number, prefix: string, depth: number): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      this.enter(depth + 1);
      out.push(this.seqItem(indent, prefix + out.length, depth + 1));
      if (this.eof || this.pos < indent) return out;
      if (this.pos > indent) bail();
      // Same column but no `- `: the next key of a mapping this list is the value of (else that mapping bails).
      if (!this.isDashItem(this.pos)) return out;
    }
  }

  /** One `- ...` entry: a nested list or mapping on the same line, a scalar or flow value, or a block below. */
  private seqItem(indent: number, path: string, depth: number): unknown {
    const p = this.skipSpaces(this.pos + 1);
    if (p === this.line.length || this.line.charCodeAt(p) === HASH) {
      const emptyLoc = this.loc(p);
      this.nextLine();
      if (!this.eof && this.pos > indent) {
        this.record(path, this.loc(this.pos), undefined, undefined);
        return this.blockCollection(`${path}.`, depth);
      }
      this.record(path, emptyLoc, 'PLAIN', undefined);
      return null;
    }
    this.pos = p;
    if (this.isDashItem(p) || this.startsKey(p)) {
      // Compact `- - x` or `- key: value`: the entry's column is the nested collection's indentation.
      this.record(path, this.loc(p), undefined, undefined);
      return this.blockCollection(`${path}.`, depth);
    }
    const value = this.inlineValue(path, depth, undefined);
    this.endOfLine();
    return value;
  }

  /** A scalar or a one-line flow collection at `pos`; records its origin. */
  private inlineValue(path: string, depth: number, keyLoc: SourceLocation | undefined): unknown {
    const start = this.pos;
    const first = this.line.charCodeAt(start);
    if (first === LBRACE || first === LBRACKET) {
      this.record(path, this.loc(start), undefined, keyLoc);
      return first === LBRACE ? this.flowMap(`${path}.`, depth) : this.flowSeq(`${path}.`, depth);
    }
    const value = first === DQUOTE || first === SQUOTE ? this.quoted() : this.resolved(this.plainText());
    this.record(path, this.loc(start), this.style, keyLoc);
    return value;
  }

  /** `{ a: 1, b: x }` on one line, with scalar values only. */
  private flowMap(prefix: string, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let p = this.skipSpaces(this.pos + 1);
    if (this.line.charCodeAt(p) === RBRACE) {
      this.pos = p + 1;
      return out;
    }
    for (;;) {
      const keyStart = p;
      this.pos = p;
      const key = this.flowKey();
      if (key === '__proto__' || Object.hasOwn(out, key)) bail();
      this.pos = this.skipSpaces(this.pos);
      const valueStart = this.pos;
      this.enter(depth + 1);
      const value = this.flowScalar();
      this.record(prefix + key, this.loc(valueStart), this.style, this.loc(keyStart));
      out[key] = value;
      p = this.flowSeparator(RBRACE);
      if (p === -1) return out;
    }
  }

  /** A flow mapping key followed by `: `; leaves `pos` after the colon. */
  private flowKey(): string {
    const first = this.line.charCodeAt(this.pos);
    let key: string;
    if (first === DQUOTE || first === SQUOTE) {
      key = this.quoted();
    } else {
      key = this.flowPlainText();
      if (typeof resolvePlain(key) !== 'string') bail();
    }
    if (this.line.charCodeAt(this.pos) !== COLON || this.line.charCodeAt(this.pos + 1) !== SPACE) bail();
    this.pos++;
    return key;
  }

  /** `[a, "b", 3]` on one line, with scalar items only. */
  private flowSeq(prefix: string, depth: number): unknown[] {
    const out: unknown[] = [];
    let p = this.skipSpaces(this.pos + 1);
    if (this.line.charCodeAt(p) === RBRACKET) {
      this.pos = p + 1;
      return out;
    }
    for (;;) {
      this.pos = p;
      this.enter(depth + 1);
      const value = this.flowScalar();
      this.record(prefix + out.length, this.loc(p), this.style, undefined);
      out.push(value);
      p = this.flowSeparator(RBRACKET);
      if (p === -1) return out;
    }
  }

  /** After a flow entry: `,` then the next entry's index, or the closing bracket (-1, `pos` after it). */
  private flowSeparator(close: number): number {
    const p = this.skipSpaces(this.pos);
    const c = this.line.charCodeAt(p);
    if (c === close) {
      this.pos = p + 1;
      return -1;
    }
    if (c !== COMMA) bail();
    const next = this.skipSpaces(p + 1);
    // A trailing comma is valid YAML but not worth reproducing.
    if (this.line.charCodeAt(next) === close) bail();
    return next;
  }

  private flowScalar(): unknown {
    const first = this.line.charCodeAt(this.pos);
    return first === DQUOTE || first === SQUOTE ? this.quoted() : this.resolved(this.flowPlainText());
  }

  /** A plain scalar's value under the core schema; sets `style`. */
  private resolved(text: string): unknown {
    this.style = 'PLAIN';
    const value = resolvePlain(text);
    if (value === OUTSIDE) bail();
    return value;
  }

  /** A plain scalar at `pos` in block context, up to a comment or the line's end; leaves `pos` after it. */
  private plainText(): string {
    const { line } = this;
    const start = this.pos;
    if (!startsPlain(line, start)) bail();
    const comment = line.indexOf(' #', start);
    let end = comment === -1 ? line.length : comment;
    while (line.charCodeAt(end - 1) === SPACE) end--;
    // `a: b: c` (a colon before a space or the end) is a nested mapping yaml refuses.
    const colon = line.indexOf(': ', start);
    if ((colon !== -1 && colon < end) || line.charCodeAt(end - 1) === COLON) bail();
    this.pos = end;
    return line.slice(start, end);
  }

  /** A plain scalar at `pos` in a flow collection, up to `,`, a closing bracket or a `: `; leaves `pos` after it. */
  private flowPlainText(): string {
    const { line } = this;
    const start = this.pos;
    if (!startsPlain(line, start)) bail();
    let end = start;
    for (let i = start; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c === SPACE) continue;
      // As yaml's lexer: in flow, `:` ends a plain scalar before a space, the line's end or a flow indicator.
      if (c === COLON && (i + 1 === line.length || line.charCodeAt(i + 1) === SPACE || isFlowIndicator(line.charCodeAt(i + 1)))) break;
      if (c === COMMA || c === RBRACE || c === RBRACKET) break;
      // Nesting, comments and quotes inside flow plain scalars: left to the full parser.
      if (c === LBRACE || c === LBRACKET || c === HASH || c === DQUOTE || c === SQUOTE) bail();
      end = i + 1;
    }
    this.pos = end;
    return line.slice(start, end);
  }

  /** A single- or double-quoted scalar closed on its line; sets `style` and leaves `pos` after it. */
  private quoted(): string {
    const { line } = this;
    let from = this.pos + 1;
    let out = '';
    if (line.charCodeAt(this.pos) === SQUOTE) {
      for (;;) {
        const quote = line.indexOf("'", from);
        // Not closed on this line: a multi-line scalar.
        if (quote === -1) bail();
        // '' is an escaped quote; a lone ' closes the scalar.
        if (quote + 1 === line.length || line.charCodeAt(quote + 1) !== SQUOTE)
          return this.closeQuoted(out + line.slice(from, quote), quote, 'QUOTE_SINGLE');
        out += line.slice(from, quote + 1);
        from = quote + 2;
      }
    }
    for (;;) {
      const quote = line.indexOf('"', from);
      if (quote === -1) bail();
      const backslash = line.indexOf('\\', from);
      if (backslash === -1 || backslash > quote) return this.closeQuoted(out + line.slice(from, quote), quote, 'QUOTE_DOUBLE');
      // \x, \u, \U and escaped line breaks: left to the full parser.
      const escaped = backslash + 1 < line.length ? ESCAPES[line[backslash + 1]!] : undefined;
      if (escaped === undefined) bail();
      out += line.slice(from, backslash) + escaped;
      from = backslash + 2;
    }
  }

  private closeQuoted(value: string, closing: number, style: string): string {
    this.pos = closing + 1;
    this.style = style;
    return value;
  }
}

/** A line starting with `---` or `...` (then a space or nothing). */
function isDocumentMarker(line: string): boolean {
  return (line.startsWith('---') || line.startsWith('...')) && (line.length === 3 || line.charCodeAt(3) === SPACE);
}

function isFlowIndicator(c: number): boolean {
  return c === COMMA || c === LBRACKET || c === RBRACKET || c === LBRACE || c === RBRACE;
}

/** Whether a plain scalar may start at `index`: not an indicator (anchor, tag, block scalar, flow, `- `...). */
function startsPlain(line: string, index: number): boolean {
  switch (line.charCodeAt(index)) {
    case DASH:
      // `-x` and `-5` are scalars; `- ` is an item and a lone `-` an empty one.
      return index + 1 < line.length && line.charCodeAt(index + 1) !== SPACE;
    case 63: // ? (explicit key, or a rarely used plain scalar)
    case COLON:
    case COMMA:
    case LBRACKET:
    case RBRACKET:
    case LBRACE:
    case RBRACE:
    case HASH:
    case 38: // & anchor
    case 42: // * alias
    case 33: // ! tag
    case 124: // | literal block scalar
    case 62: // > folded block scalar
    case SQUOTE:
    case DQUOTE:
    case 37: // % directive
    case 64: // @ reserved
    case 96: // ` reserved
    case SPACE:
      return false;
    default:
      return index < line.length;
  }
}

/** A plain scalar's value under yaml's core schema; OUTSIDE for the number forms this parser leaves to yaml. */
function resolvePlain(text: string): unknown {
  // Every null and boolean spelling is at most 5 characters long: most scalars skip the comparisons.
  if (text.length <= 5) {
    switch (text) {
      case '~':
      case 'null':
      case 'Null':
      case 'NULL':
        return null;
      case 'true':
      case 'True':
      case 'TRUE':
        return true;
      case 'false':
      case 'False':
      case 'FALSE':
        return false;
    }
  }
  const first = text.charCodeAt(0);
  if ((first >= 48 && first <= 57) || first === 43 || first === DASH || first === DOT) {
    // yaml resolves decimal ints with parseInt too (so 007 is 7 and -0 is -0).
    if (INT.test(text)) return parseInt(text, 10);
    if (OTHER_NUMBER.test(text)) return OUTSIDE;
  }
  return text;
}
