// The fast YAML path answers exactly as the full parser (yaml + position walk) or not at all.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, MAX_EXPANDED_NODES, parseYamlFast } from '../../src/manifest/yaml-fast.js';
import { parseYaml, parseYamlFull } from '../../src/manifest/yaml.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FILE = 'environments/development.yaml';

/** True when the fast path answered (and matched the full path), false when it bailed. */
function expectSameOrBail(text: string): boolean {
  const fast = parseYamlFast(text, FILE);
  if (fast === undefined) return false;
  const full = parseYamlFull(text, FILE);
  expect(full.diagnostics).toEqual([]);
  expect(fast.diagnostics).toEqual([]);
  expectIdentical(fast.data, full.data);
  expectIdentical([...fast.origins], [...full.origins]);
  return true;
}

/** Deep equality with -0, undefined properties and prototypes checked; vitest's toStrictEqual stumbles on a `constructor` key. */
function expectIdentical(actual: unknown, expected: unknown): void {
  if (isDeepStrictEqual(actual, expected)) return;
  expect(actual).toStrictEqual(expected);
  expect.fail(`not identical: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** ```yaml blocks of the README and docs/. */
function documentedExamples(): { where: string; text: string }[] {
  const docs = [path.join(REPO, 'README.md'), ...readdirSync(path.join(REPO, 'docs')).map((f) => path.join(REPO, 'docs', f))];
  return docs
    .filter((f) => f.endsWith('.md'))
    .flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)].map((m, i) => ({
        where: `${path.relative(REPO, f)} #${i + 1}`,
        text: m[1]!,
      })),
    );
}

/** The manifest bench/plan-apply.mjs generates. */
function benchManifest(count: number): string {
  const lines = ['apiVersion: iact/v1', 'environment: development', 'defaults: { driver: lightweight }', 'sandboxes:'];
  for (let i = 0; i < count; i++) lines.push(`  sb-${i}:`, '    service: none', `    port: ${30000 + i}`);
  return `${lines.join('\n')}\n`;
}

describe('parseYamlFast on the YAML in this repository', () => {
  const bundled = readdirSync(path.join(REPO, 'environments')).map((f) => path.join(REPO, 'environments', f));

  it.each(bundled.map((f) => [path.relative(REPO, f)]))('%s goes through the fast path, equal to the full one', (rel) => {
    expect(expectSameOrBail(readFileSync(path.join(REPO, rel), 'utf8'))).toBe(true);
  });

  it('fixtures: undefined or equal to the full path; the valid ones take the fast path', () => {
    const files = yamlFilesUnder(path.join(REPO, 'test/fixtures'));
    expect(files.length).toBeGreaterThan(50);
    const bailed = files.filter((f) => !expectSameOrBail(readFileSync(f, 'utf8'))).map((f) => path.relative(REPO, f));
    // Each of these is outside the subset on purpose (broken, hostile or empty YAML; Kubernetes exports, many documents).
    expect(bailed.sort()).toEqual([
      'test/fixtures/export/staging-cnpg.yaml',
      'test/fixtures/export/staging.yaml',
      ...[
        'alias-bomb',
        'bad-yaml-syntax',
        'bad-yaml-unclosed-flow',
        'binary-garbage',
        'deep-nesting',
        'duplicate-key',
        'empty-manifest',
        'multiple-documents',
        'proto-key',
      ].map((name) => `test/fixtures/manifests/${name}/environments/development.yaml`),
    ]);
  });

  it('README and docs examples: undefined or equal to the full path', () => {
    const examples = documentedExamples();
    expect(examples.length).toBeGreaterThan(0);
    for (const { text } of examples) expectSameOrBail(text);
  });

  it('the generated 1000-sandbox manifest takes the fast path; parseYaml equals parseYamlFull', () => {
    const text = benchManifest(1000);
    expect(parseYamlFast(text, FILE)).toBeDefined();
    expect(expectSameOrBail(text)).toBe(true);
    const viaParseYaml = parseYaml(text, FILE);
    const full = parseYamlFull(text, FILE);
    expectIdentical(viaParseYaml.data, full.data);
    expectIdentical([...viaParseYaml.origins], [...full.origins]);
    expect(viaParseYaml.diagnostics).toEqual([]);
  });
});

describe('parseYamlFast on hand-written cases', () => {
  it.each([
    ['nested maps, comments between', 'a:\n  # about b\n\n  b: 1 # trailing\nc: x\n'],
    ['a list at the key’s column and deeper', 'a:\n- x\n- y\nb:\n    - 1\n    - 2\n'],
    ['compact maps in a list', 'a:\n  - name: x\n    port: 1\n  -   name: y\n      tags: [p, q]\n'],
    ['a list at the column of a key inside a list item', '- a:\n  - x\n  b: 1\n'],
    ['compact nested lists', '- - 1\n  - 2\n- -\n  - ~\n'],
    ['an item on the lines below its dash', '-\n  a: 1\n-\n    - 2\n'],
    ['empty values where yaml places them', 'a:\nb:    # note\nc:   \nd:\n  # nothing\ne:\n  - \n  - # note\n  -\n'],
    [
      'flow collections',
      'd: { driver: lightweight }\nx: [a, "b", \'c\', 3]\ne: {}\nf: [ ]\nu: { baseUrl: http://localhost:8000, t: 30 }\n',
    ],
    [
      'scalars of each core-schema type',
      'n: [~, null, Null, NULL]\nb: [true, True, TRUE, false, False, FALSE]\ni: [0, -0, +12, 007, -42]\ns: [1.2.3, 1_000, 0b1, 512M, +, truE, nulls]\n',
    ],
    [
      'quoted scalars',
      `a: "x # y: z"\nb: 'it''s'\nc: "\\"q\\" \\\\ \\n \\t \\/ \\0 \\_ \\N \\L \\P \\ "\nd: ''\ne: ""\n"k": 1\n'l m': 2\n`,
    ],
    ['plain scalars with indicators inside', 'a: x:y\nb: a#b\nc: ${VAR:-a b}\nd: -x\ne: a, b]\nf: it\'s "so"\n'],
    ['a leading document start', '# c\n--- # start\na: 1\n'],
    ['a root block indented', '  a: 1\n  b:\n     c: 2\n'],
    ['a root sequence', '- a\n- b: 1\n'],
    ['unicode', 'é: "ü €"\nk: 日本 😀\n'],
    ['keys that look like paths', 'sb-1: 1\na_b: 2\nx.y: 3\n-k: 4\n'],
  ])('%s', (_name, text) => {
    expect(expectSameOrBail(text)).toBe(true);
  });

  it.each([
    ['an anchor', 'a: &x 1\nb: 2\n'],
    ['an alias', 'a: 1\nb: *a\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a literal block scalar', 'a: |\n  text\n'],
    ['a folded block scalar', 'a: >\n  text\n'],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a multi-line quoted scalar', 'a: "one\n  two"\n'],
    ['a plain scalar on the line below its key', 'a:\n  text\n'],
    ['an explicit key', '? a\n: 1\n'],
    ['a directive', '%YAML 1.2\n---\na: 1\n'],
    ['a second document', 'a: 1\n---\nb: 2\n'],
    ['a document end marker', 'a: 1\n...\n'],
    ['a tab in indentation', 'a:\n\tb: 1\n'],
    ['a tab after a colon', 'a:\t1\n'],
    ['CRLF line ends', 'a: 1\r\nb: 2\r\n'],
    ['a byte order mark', '\ufeffa: 1\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a duplicate key written two ways', 'a: 1\n"a": 2\n'],
    ['a duplicate key in a flow map', 'a: { x: 1, x: 2 }\n'],
    ['the key __proto__', '__proto__: 1\n'],
    ['__proto__ in a flow map', 'a: { __proto__: 1 }\n'],
    ['an int key', '1: a\n'],
    ['a bool key', 'true: a\n'],
    ['a null key', 'null: a\n'],
    ['a ~ key', '~: a\n'],
    ['a float key', '1.5: a\n'],
    ['an empty key', ': a\n'],
    ['a float', 'a: 1.5\n'],
    ['an exponent', 'a: 1e3\n'],
    ['a hex int', 'a: 0x1F\n'],
    ['an octal int', 'a: 0o17\n'],
    ['infinity', 'a: -.inf\n'],
    ['not a number', 'a: .NaN\n'],
    ['a float in a flow seq', 'a: [1, 2.5]\n'],
    ['a \\x escape', 'a: "\\x41"\n'],
    ['a \\u escape', 'a: "\\u00e9"\n'],
    ['an invalid escape', 'a: "\\q"\n'],
    ['an escaped line break', 'a: "x\\\n  y"\n'],
    ['a nested flow collection', 'a: [x, [y]]\n'],
    ['a flow map inside a flow seq', 'a: [{ x: 1 }]\n'],
    ['a trailing comma', 'a: [x, y,]\n'],
    ['a flow pair in a flow seq', 'a: [x: 1]\n'],
    ['a flow map entry without a value', 'a: { x: }\n'],
    ['a flow map entry glued to its colon', 'a: { x:1 }\n'],
    ['a comment inside a flow collection', 'a: [x # c\n  ]\n'],
    ['an unclosed flow collection', 'a: [x, y\n'],
    ['a root flow map', '{ a: 1 }\n'],
    ['a root scalar', 'text\n'],
    ['an empty document', '# only a comment\n'],
    ['a nested mapping on one line', 'a: b: c\n'],
    ['a list after a scalar value', 'a: 1\n- x\n'],
    ['a list at a key’s column after its value', 'a: 1\nb:\n  c: 1\n  - x\n'],
    ['a dash value on the key’s line', 'a: - x\n'],
    ['bad indentation', 'a:\n    b: 1\n  c: 2\n'],
    ['a deeper line after a value', 'a: 1\n  b: 2\n'],
    ['a space before the colon', 'a : 1\n'],
    ['a comment glued to a quoted value', 'a: "x"# c\n'],
    ['text after a quoted value', 'a: "x" y\n'],
    ['a quoted key glued to its value', '"a":1\n'],
    ['a reserved indicator', 'a: @x\n'],
    ['a backtick', 'a: `x`\n'],
    ['a key over 1000 characters', `${'k'.repeat(1001)}: 1\n`],
  ])('bails on %s', (_name, text) => {
    expect(parseYamlFast(text, FILE)).toBeUndefined();
  });

  it('bails beyond the depth limit of the full walk, and answers at it', () => {
    // The innermost value of `levels` nested keys sits at depth `levels` (the root is 0).
    const nested = (levels: number) => `${Array.from({ length: levels }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} 1\n`;
    expect(parseYamlFast(nested(MAX_DEPTH + 1), FILE)).toBeUndefined();
    expect(parseYamlFull(nested(MAX_DEPTH + 1), FILE).diagnostics[0]?.code).toBe('yaml.alias');
    expect(expectSameOrBail(nested(MAX_DEPTH))).toBe(true);
  });

  it('bails beyond the node limit of the full walk, and answers at it', () => {
    const list = (items: number) => '- 1\n'.repeat(items);
    // The root counts as a node, as in the walk.
    expect(parseYamlFast(list(MAX_EXPANDED_NODES), FILE)).toBeUndefined();
    expect(parseYamlFull(list(MAX_EXPANDED_NODES), FILE).diagnostics[0]?.code).toBe('yaml.alias');
    expect(parseYamlFast(list(MAX_EXPANDED_NODES - 1), FILE)).toBeDefined();
  });

  it('parseYaml still reports YAML errors through the full parser', () => {
    expect(parseYaml('a: 1\na: 2\n', FILE).diagnostics.map((d) => d.code)).toEqual(['yaml.duplicate-key']);
    expect(parseYaml('a: &x 1\nb: *x\n', FILE).data).toEqual({ a: 1, b: 1 });
  });
});

// ---- generated documents ------------------------------------------------------------------------

type Leaf = { kind: 'leaf'; text: string | undefined; comment: string };
type MapNode = { kind: 'map'; width: number; entries: { key: string; value: Tree; before: string[] }[] };
/** `sameColumn`: under a key, the list starts at the key's column; `compact`: an item's collection starts on its `- ` line. */
type SeqNode = { kind: 'seq'; width: number; sameColumn: boolean; items: { value: Tree; before: string[]; compact: boolean }[] };
type Tree = Leaf | MapNode | SeqNode;

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const joined = (parts: fc.Arbitrary<string>, sep: string, max: number) =>
  fc.array(parts, { minLength: 1, maxLength: max }).map((p) => p.join(sep));

const intText = fc.oneof(
  fc.integer().map(String),
  fc.integer({ min: 0, max: 99999 }).map((n) => `+${n}`),
  fc.integer({ min: 0, max: 999 }).map((n) => `00${n}`),
  pick('-0', '0', '30000', '65535'),
);
// Words are strings to yaml except these (they would make a plain key non-string).
const wordText = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/).filter((w) => !['true', 'false', 'null'].includes(w)),
  pick('sb-1', 'a_b', 'x.y', 'localhost', 'iact/v1', 'lightweight'),
);
/** Plain scalars that stay strings: interpolations, URLs, versions and indicator characters inside. */
const plainText = joined(
  fc.oneof(
    wordText,
    pick('${VAR}', '${DB_PASSWORD:-default}', '${HOST:?set HOST in .env}', '${A:-}', 'http://localhost:8000/p', 'llama3.1:8b'),
    pick('512M', '1.2.3', '15-alpine', 'a#b', "it's", 'say "hi"', '50%', 'a,b', 'x]', 'k=v', '-x', '1_000'),
  ),
  ' ',
  4,
);
const doubleQuoted = joined(pick('a', ' ', '#', ': ', "'", '\\"', '\\\\', '\\n', '\\t', '\\/', '\\ ', 'é', '${X}', '5', 'true'), '', 8).map(
  (s) => `"${s}"`,
);
const singleQuoted = joined(pick('a', ' ', '#', ': ', '"', "''", '\\', '${X:-y}', '7', 'null'), '', 8).map((s) => `'${s}'`);
const blockScalar = fc.oneof(
  intText,
  pick('true', 'True', 'TRUE', 'false', 'False', 'FALSE', '~', 'null', 'Null', 'NULL'),
  plainText,
  doubleQuoted,
  singleQuoted,
  pick('""', "''"),
);
const flowScalar = fc.oneof(
  intText,
  pick('true', 'FALSE', '~', 'null'),
  wordText,
  pick('http://localhost:8000', 'a b'),
  doubleQuoted,
  singleQuoted,
);
const flowText = fc.oneof(
  fc
    .uniqueArray(fc.tuple(wordText, flowScalar), { maxLength: 4, selector: ([k]) => k })
    .map((es) => (es.length === 0 ? '{}' : `{ ${es.map(([k, v]) => `${k}: ${v}`).join(', ')} }`)),
  fc.array(flowScalar, { maxLength: 4 }).map((xs) => `[${xs.join(', ')}]`),
  pick('{ driver: lightweight }', '[a, b]', '[ ]', '{}'),
);
const comment = fc.oneof(pick('', '', ''), pick(' # note', ' #', ' # a: b # "c" \'d\'', '   # ${X}'));
/** Blank lines and whole-line comments at any indentation, before an entry. */
const decoration = fc.array(pick('', '   ', '# top', '    # deeper', '  #'), { maxLength: 2 });
const keyText = fc.oneof(
  wordText,
  pick('apiVersion', 'sandboxes', 'depends_on', 'a b', 'k:v', '-k', 'x#y', 'a"b', 'constructor', 'toString'),
  wordText.map((w) => `"${w}"`),
  wordText.map((w) => `'${w}'`),
);
const keyValue = (key: string) => key.replace(/^["'](.*)["']$/, '$1');

const documents = fc.letrec<{ tree: Tree; leaf: Leaf; map: MapNode; seq: SeqNode }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('map'), tie('seq')),
  leaf: fc.record({
    kind: fc.constant('leaf' as const),
    text: fc.oneof(
      { weight: 6, arbitrary: blockScalar },
      { weight: 2, arbitrary: flowText },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    comment,
  }),
  map: fc.record({
    kind: fc.constant('map' as const),
    width: fc.integer({ min: 1, max: 4 }),
    entries: fc.uniqueArray(fc.record({ key: keyText, value: tie('tree'), before: decoration }), {
      minLength: 1,
      maxLength: 4,
      selector: (e) => keyValue(e.key),
    }),
  }),
  seq: fc.record({
    kind: fc.constant('seq' as const),
    width: fc.integer({ min: 1, max: 4 }),
    sameColumn: fc.boolean(),
    items: fc.array(fc.record({ value: tie('tree'), before: decoration, compact: fc.boolean() }), { minLength: 1, maxLength: 4 }),
  }),
}));

/** Renders a block node; `head` replaces the indentation of its first line (`- ` of a compact entry). */
function renderBlock(node: MapNode | SeqNode, indent: number, lines: string[], head?: string): void {
  const entries = node.kind === 'map' ? node.entries : node.items;
  entries.forEach((entry, i) => {
    if (i > 0 || head === undefined) lines.push(...entry.before);
    const lead = i === 0 && head !== undefined ? head : ' '.repeat(indent);
    const start = node.kind === 'map' ? `${lead}${(entry as MapNode['entries'][number]).key}:` : `${lead}-`;
    const value = entry.value;
    if (value.kind === 'leaf') {
      lines.push(value.text === undefined ? `${start}${value.comment}` : `${start} ${value.text}${value.comment}`);
    } else if ('compact' in entry && entry.compact) {
      // `- key: value` or `- - x`: the collection's column is where its first entry starts.
      const dash = `${start}${' '.repeat(value.kind === 'map' ? node.width : 1)}`;
      renderBlock(value, dash.length, lines, dash);
    } else {
      lines.push(start);
      // A list may sit at its key's column; anything else goes deeper.
      renderBlock(value, node.kind === 'map' && value.kind === 'seq' && value.sameColumn ? indent : indent + node.width, lines);
    }
  });
}

/** A manifest-like document: a mapping at the root, optionally after `---`. */
const subsetDocument = fc.tuple(documents.map, fc.boolean(), decoration).map(([root, start, before]) => {
  const lines = [...before, ...(start ? ['---'] : [])];
  renderBlock(root, 0, lines);
  return `${lines.join('\n')}\n`;
});

/** Edits that often leave the subset or make the YAML invalid: the fast path must then bail or still agree. */
const mutated = fc
  .tuple(
    subsetDocument,
    fc.array(
      fc.tuple(
        fc.nat(),
        pick(
          ' ',
          '\t',
          '#',
          ':',
          '- ',
          '&a ',
          '*a',
          '!',
          '|',
          '"',
          "'",
          '\\',
          '{',
          ']',
          ',',
          '1.5',
          '0x1',
          '\n',
          '\n  ',
          '? ',
          'true: ',
          '---\n',
          '',
        ),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([text, edits]) =>
    edits.reduce((t, [at, insert]) => {
      const i = at % (t.length + 1);
      // An empty insert deletes the character instead.
      return insert === '' ? t.slice(0, i) + t.slice(i + 1) : t.slice(0, i) + insert + t.slice(i);
    }, text),
  );

describe('parseYamlFast on generated documents', () => {
  it('answers every document of the subset, exactly as the full path', () => {
    fc.assert(
      fc.property(subsetDocument, (text) => {
        expect(expectSameOrBail(text)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('after random edits: undefined or exactly the full path', () => {
    fc.assert(
      fc.property(mutated, (text) => {
        expectSameOrBail(text);
      }),
      { numRuns: 800 },
    );
  });
});
