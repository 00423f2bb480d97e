// Pure: pack markdown blocks into comment bodies under GitHub's 65,536-character limit. Tables and
// fenced blocks split between lines and are reopened (header / fence repeated) in the next part.

export const GITHUB_COMMENT_LIMIT = 65_536;
export const DEFAULT_MAX_CHARS = 65_000;
/** Separates comment bodies on stdout; a CI step posts each part as its own comment. */
export const DIFF_PART_SEPARATOR = '\n<!-- iact-diff: next comment -->\n\n';

export type Block =
  | { kind: 'text'; text: string }
  /** Lines wrapped in open/close (a table header, a <details> with a fence) that may be split. */
  | { kind: 'lines'; open: string; reopen: string; close: string; lines: string[] };

function cut(line: string, room: number): string {
  const marker = ' … (line truncated)';
  return line.length <= room ? line : `${line.slice(0, Math.max(0, room - marker.length))}${marker}`;
}

export function packBlocks(blocks: Block[], budget: number): string[] {
  const parts: string[] = [];
  let current = '';
  const withBlock = (text: string) => (current === '' ? text : `${current}\n\n${text}`);
  const flush = () => {
    if (current !== '') parts.push(current);
    current = '';
  };
  for (const block of blocks) {
    if (block.kind === 'text') {
      if (withBlock(block.text).length <= budget) {
        current = withBlock(block.text);
        continue;
      }
      flush();
      if (block.text.length <= budget) {
        current = block.text;
        continue;
      }
      for (const l of block.text.split('\n').map((x) => cut(x, budget))) {
        if (current !== '' && current.length + 1 + l.length > budget) flush();
        current = current === '' ? l : `${current}\n${l}`;
      }
      continue;
    }
    const close = block.close ? `\n${block.close}` : '';
    let open = block.open;
    let body: string[] = [];
    let bodyLength = 0; // sum of (line + '\n'), kept so each line costs O(1)
    const render = () => [open, ...body].join('\n') + close;
    const size = (extra: number) => (current === '' ? 0 : current.length + 2) + open.length + bodyLength + extra + close.length;
    for (const raw of block.lines) {
      const line = cut(raw, budget - Math.max(block.open.length, block.reopen.length) - close.length - 2);
      if (size(line.length + 1) <= budget) {
        body.push(line);
        bodyLength += line.length + 1;
        continue;
      }
      if (body.length > 0) {
        current = withBlock(render());
        open = block.reopen;
      }
      flush();
      body = [line];
      bodyLength = line.length + 1;
    }
    current = withBlock(render());
  }
  flush();
  return parts;
}

/** Comment bodies, each under maxChars; every part after the first says it continues. */
export function splitComment(blocks: Block[], opts: { maxChars?: number; title: string; marker: string }): string[] {
  const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
  const reserve = 200 + opts.title.length + opts.marker.length;
  const budget = maxChars - reserve;
  if (budget < 200) throw new RangeError(`maxChars ${maxChars} is too small to hold a diff comment`);
  const parts = packBlocks(blocks, budget);
  if (parts.length === 1) return [`${parts[0]}\n\n<!-- ${opts.marker} -->\n`];
  return parts.map((body, i) => {
    const n = `part ${i + 1} of ${parts.length}`;
    const head = i === 0 ? '' : `**${opts.title} (${n}, continued)**\n\n`;
    return `${head}${body}\n\n<sub>${opts.title} · ${n}</sub>\n<!-- ${opts.marker}; ${n} -->\n`;
  });
}
