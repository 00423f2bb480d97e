// Pure: the manifest schema as data (navigation, defaults, coercion, "did you mean") and its
// precompiled ajv validator, with errors mapped back to YAML positions.
import { diag, type Diagnostic, type SourceLocation } from '../diagnostics.js';
import { manifestSchema, validate as compiledValidate } from './schema.generated.js';

export type JsonSchema = Record<string, unknown>;

interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  propertyName?: string;
}

export const schema = manifestSchema as JsonSchema;

const derefCache = new WeakMap<JsonSchema, JsonSchema>();
const pathCache = new Map<string, JsonSchema | undefined>();

function deref(node: JsonSchema | undefined): JsonSchema | undefined {
  if (!node) return undefined;
  const ref = node.$ref;
  if (typeof ref !== 'string') return node;
  const cached = derefCache.get(node);
  if (cached) return cached;
  const target = ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((acc, key) => (acc as Record<string, unknown> | undefined)?.[key], schema) as JsonSchema | undefined;
  const { $ref: _ref, ...siblings } = node;
  const merged = { ...deref(target), ...siblings };
  derefCache.set(node, merged);
  return merged;
}

/** The subschema describing the value at `segments` (undefined when the schema does not allow it). */
export function schemaAt(segments: readonly (string | number)[]): JsonSchema | undefined {
  // Array indices and map keys under additionalProperties share a schema; the key is only a cache key.
  const key = segments.join('\u0000');
  if (pathCache.has(key)) return pathCache.get(key);
  const found = walkSchema(segments);
  pathCache.set(key, found);
  return found;
}

function walkSchema(segments: readonly (string | number)[]): JsonSchema | undefined {
  let node = deref(schema);
  for (const segment of segments) node = schemaChild(node, segment);
  return node;
}

/** The subschema one step below `node` (a key or an array index); recursive walks carry it down. */
export function schemaChild(node: JsonSchema | undefined, segment: string | number): JsonSchema | undefined {
  if (!node) return undefined;
  if (typeof segment === 'number') return deref(node.items as JsonSchema | undefined);
  const properties = node.properties as Record<string, JsonSchema> | undefined;
  if (properties && Object.hasOwn(properties, segment)) return deref(properties[segment]);
  const additional = node.additionalProperties;
  return additional && typeof additional === 'object' ? deref(additional as JsonSchema) : undefined;
}

export const rootSchema = (): JsonSchema | undefined => deref(schema);

export function knownKeys(segments: readonly (string | number)[]): string[] {
  const node = schemaAt(segments);
  return Object.keys((node?.properties as Record<string, unknown> | undefined) ?? {});
}

const typesCache = new WeakMap<JsonSchema, string[]>();

/** The JSON types a schema node allows, worked out once per node (coerce asks for every value). */
function typesOf(node: JsonSchema | undefined): string[] {
  if (!node) return [];
  let types = typesCache.get(node);
  if (!types) {
    const t = node.type;
    if (typeof t === 'string') types = [t];
    else if (Array.isArray(t)) types = t as string[];
    else if (Array.isArray(node.enum)) types = [...new Set((node.enum as unknown[]).map((v) => typeof v))];
    else types = [];
    typesCache.set(node, types);
  }
  return types;
}

/**
 * After interpolation values take the schema's type: "5433" -> 5433, "true" -> true.
 * Literal YAML numbers where a string is expected (version: 15) become strings.
 */
export function coerce(node: JsonSchema | undefined, value: unknown, interpolated: boolean): unknown {
  const types = typesOf(node);
  if (types.length === 0) return value;
  const numeric = types.includes('number') || types.includes('integer');
  if (typeof value === 'number' && types.includes('string') && !numeric) return String(value);
  if (!interpolated || typeof value !== 'string' || types.includes('string')) return value;
  const text = value.trim();
  if (
    (types.includes('integer') && /^[+-]?\d+$/.test(text)) ||
    (types.includes('number') && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text))
  ) {
    return Number(text);
  }
  if (types.includes('boolean') && /^(true|false)$/i.test(text)) return text.toLowerCase() === 'true';
  return value;
}

const defaultsCache = new WeakMap<JsonSchema, [string, unknown][]>();

/** The `default`s of a mapping's properties, worked out once per schema node. */
function defaultsOf(node: JsonSchema): [string, unknown][] {
  let found = defaultsCache.get(node);
  if (!found) {
    const properties = (node.properties as Record<string, JsonSchema> | undefined) ?? {};
    found = Object.entries(properties).flatMap(([key, sub]) => {
      const def = deref(sub)?.default;
      return def === undefined ? [] : [[key, def] as [string, unknown]];
    });
    defaultsCache.set(node, found);
  }
  return found;
}

/** Fill `default`s from the schema into objects that are present (the bundled manifests set their own; these are the last resort). */
export function applyDefaults(value: unknown, node: JsonSchema | undefined = rootSchema()): unknown {
  if (Array.isArray(value)) return value.map((item, i) => applyDefaults(item, schemaChild(node, i)));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    out[key] = child !== null && typeof child === 'object' ? applyDefaults(child, schemaChild(node, key)) : child;
  }
  if (node) for (const [key, def] of defaultsOf(node)) if (out[key] === undefined) out[key] = def;
  return out;
}

/** Closest candidate by edit distance, or by the same letters in another case style (ssl_mode -> sslMode). */
export function didYouMean(input: string, candidates: readonly string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const same = candidates.find((c) => squash(c) === squash(input));
  if (same) return same;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = levenshtein(input.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(Math.max(input.length, best.length) / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

export interface SchemaContext {
  file: string;
  /** Location of the value (or, with key=true, of the key) at a dotted path; falls back to the nearest parent. */
  locate: (segments: readonly (string | number)[], key?: boolean) => SourceLocation;
  /** Whether the value at a path is a secret (its value must not be printed). */
  isSensitive: (segments: readonly (string | number)[]) => boolean;
  /** Paths already reported (e.g. an unset variable): no second error for the same value. */
  skip?: (segments: readonly (string | number)[]) => boolean;
}

export function pointerToSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function dotted(segments: readonly (string | number)[]): string {
  return segments.length === 0 ? 'the top level' : segments.join('.');
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};
const typeWords = (types: string) =>
  types
    .split(',')
    .map((t) => TYPE_WORDS[t] ?? t)
    .join(' or ');

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function kindOf(value: unknown): string {
  if (value === null) return 'empty (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

function valueAt(data: unknown, segments: readonly (string | number)[]): unknown {
  return segments.reduce<unknown>((acc, key) => (acc as Record<string | number, unknown> | undefined)?.[key], data);
}

/** Validate with the precompiled schema; every error becomes a positioned diagnostic. */
export function validateAgainstSchema(data: unknown, ctx: SchemaContext): Diagnostic[] {
  if (compiledValidate(data)) return [];
  const errors = ((compiledValidate as unknown as { errors?: AjvError[] }).errors ?? []).slice();
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  // `servce: redis` is one typo: "unknown field servce, did you mean service?" says it all, and
  // "missing the required field service" beside it would only echo it.
  const misspelled = new Set(
    errors
      .filter((e) => e.keyword === 'additionalProperties')
      .map(
        (e) => `${e.instancePath}\0${didYouMean(String(e.params.additionalProperty), knownKeys(pointerToSegments(e.instancePath))) ?? ''}`,
      ),
  );
  for (const error of errors) {
    // propertyNames reports each bad key, then once more for the whole object: keep the first.
    if (error.keyword === 'propertyNames' || ctx.skip?.(pointerToSegments(error.instancePath))) continue;
    if (error.keyword === 'required' && misspelled.has(`${error.instancePath}\0${String(error.params.missingProperty)}`)) continue;
    const d = describe(error, data, ctx);
    if (!d) continue;
    const id = `${d.location?.line}:${d.location?.col}:${d.summary}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(d);
  }
  return out;
}

function describe(error: AjvError, data: unknown, ctx: SchemaContext): Diagnostic | undefined {
  const segments = pointerToSegments(error.instancePath);
  const value = valueAt(data, segments);
  const node = schemaAt(segments);
  const description = typeof node?.description === 'string' ? node.description : undefined;
  const shown = ctx.isSensitive(segments) ? '(sensitive value)' : show(value);
  const here = dotted(segments);
  const p = error.params;

  if (error.propertyName !== undefined) {
    // propertyNames failures: the key itself is invalid (e.g. a sandbox named "a;rm -rf /").
    const keyPath = [...segments, error.propertyName];
    const propertyNames = schemaAt(segments)?.propertyNames as JsonSchema | undefined;
    return diag(`invalid name ${show(error.propertyName)} in ${here}`, {
      location: ctx.locate(keyPath, true),
      code: 'schema.name',
      fix:
        typeof propertyNames?.description === 'string' ? propertyNames.description : `names must match ${String(propertyNames?.pattern)}`,
    });
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = knownKeys(segments);
      const suggestion = didYouMean(key, known);
      return diag(`unknown field "${key}" in ${here}`, {
        location: ctx.locate([...segments, key], true),
        code: 'schema.unknown-key',
        fix: suggestion ? `did you mean "${suggestion}"?` : `remove it; known fields: ${known.join(', ')}`,
      });
    }
    case 'required': {
      const missing = String(p.missingProperty);
      const sub = schemaAt([...segments, missing]);
      return diag(`${here} is missing the required field "${missing}"`, {
        location: ctx.locate(segments, segments.length > 0),
        code: 'schema.required',
        fix: `add ${missing}:${typeof sub?.description === 'string' ? ` (${sub.description})` : ''}`,
      });
    }
    case 'type': {
      const wanted = String(p.type);
      // "41000" for an integer, "true" for a boolean: the quotes are the whole problem.
      const unquote =
        typeof value === 'string' &&
        ((/integer|number/.test(wanted) && /^-?\d+(\.\d+)?$/.test(value)) || (/boolean/.test(wanted) && /^(true|false)$/.test(value)));
      return diag(
        `${here} must be ${typeWords(wanted)}, got ${kindOf(value)}${typeof value === 'string' || typeof value === 'number' ? ` ${shown}` : ''}`,
        {
          location: ctx.locate(segments),
          code: 'schema.type',
          detail: description,
          fix: unquote
            ? `remove the quotes: ${String(segments[segments.length - 1])}: ${String(value)}`
            : `write ${typeWords(wanted)} here`,
        },
      );
    }
    case 'enum': {
      const allowed = (node?.enum as unknown[] | undefined) ?? (p.allowedValues as unknown[]) ?? [];
      const suggestion = typeof value === 'string' ? didYouMean(value, allowed.map(String)) : undefined;
      return diag(`${here} must be one of ${allowed.map(String).join(', ')}; got ${shown}`, {
        location: ctx.locate(segments),
        code: 'schema.enum',
        fix: suggestion ? `did you mean "${suggestion}"?` : (description ?? `use one of ${allowed.join(', ')}`),
      });
    }
    case 'const':
      return diag(`${here} must be ${show(p.allowedValue)}; got ${shown}`, {
        location: ctx.locate(segments),
        code: 'schema.const',
        fix: `write ${segments.join('.')}: ${String(p.allowedValue)}`,
      });
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const min = node?.minimum ?? node?.exclusiveMinimum;
      const max = node?.maximum;
      const range =
        min !== undefined && max !== undefined ? `${String(min)}..${String(max)}` : `${String(p.comparison)} ${String(p.limit)}`;
      return diag(`${here} is ${shown}, out of range (${range})`, {
        location: ctx.locate(segments),
        code: 'schema.range',
        detail: description,
        fix: `use a value in ${range}`,
      });
    }
    case 'pattern':
      return diag(`${here} has an invalid value ${shown}`, {
        location: ctx.locate(segments),
        code: 'schema.pattern',
        fix: description ? `${description} (must match ${String(p.pattern)})` : `must match ${String(p.pattern)}`,
      });
    default:
      return diag(`${here} ${error.message ?? 'is invalid'}`, {
        location: ctx.locate(segments),
        code: `schema.${error.keyword}`,
        fix: description,
      });
  }
}
