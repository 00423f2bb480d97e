// Pure: pack markdown blocks into pull-request comments under GitHub's 65,536-character limit, for
// plans and diffs alike. Tables and fenced blocks split between lines and are reopened (header /
// fence repeated) in the next part; every part after the first says it continues.

export const GITHUB_COMMENT_LIMIT = 65_536;
/** Stay clear of GitHub's limit. */
export const DEFAULT_MAX_CHARS = 65_000;
/** Room kept in every part for the "part i of n" lines added once the count is known. */
const PART_RESERVE = 200;
/** How many lines back a split may move to land on a blank line (between two resources). */
const BLANK_LOOKBACK = 40;

export type Block =
  | { kind: 'text'; text: string }
  /** Lines wrapped in open/close (a table header, a <details> with a fence) that may be split. */
  | { kind: 'lines'; open: string; reopen: string; close: string; lines: string[]; breakAtBlank?: boolean };

function truncateLine(line: string, room: number): string {
  const marker = ' … (line truncated)';
  return line.length <= room ? line : `${line.slice(0, Math.max(0, room - marker.length))}${marker}`;
}

/** Greedy packing: text blocks whole where they fit, line blocks split between lines and re-wrapped in each part. */
export function packBlocks(blocks: Block[], budget: number): string[] {
  const parts: string[] = [];
  let current = '';
  const joined = (text: string) => (current === '' ? text : `${current}\n\n${text}`);
  const flush = () => {
    if (current !== '') parts.push(current);
    current = '';
  };
  for (const block of blocks) {
    if (block.kind === 'text') {
      if (joined(block.text).length <= budget) {
        current = joined(block.text);
        continue;
      }
      flush();
      if (block.text.length <= budget) {
        current = block.text;
        continue;
      }
      // A paragraph larger than a whole comment: split it between lines.
      for (const l of block.text.split('\n').map((x) => truncateLine(x, budget))) {
        if (current !== '' && current.length + 1 + l.length > budget) flush();
        current = current === '' ? l : `${current}\n${l}`;
      }
      continue;
    }
    const close = block.close ? `\n${block.close}` : '';
    const wrap = (open: string, body: string[]) => [open, ...body].join('\n') + close;
    let open = block.open;
    let body: string[] = [];
    let bodyLength = 0; // sum of (line + '\n'), kept so each line costs O(1)
    const fits = (line: string) =>
      (current === '' ? 0 : current.length + 2) + open.length + bodyLength + 1 + line.length + close.length <= budget;
    for (const raw of block.lines) {
      let line = raw;
      if (!fits(line)) {
        let carry: string[] = [];
        if (body.length > 0) {
          const blank = block.breakAtBlank ? body.lastIndexOf('') : -1;
          if (blank > 0 && body.length - blank <= BLANK_LOOKBACK) {
            carry = body.slice(blank + 1);
            body = body.slice(0, blank + 1);
          }
          current = joined(wrap(open, body));
          flush();
          open = block.reopen;
        } else if (current !== '') {
          flush();
        }
        body = carry;
        bodyLength = carry.reduce((n, l) => n + l.length + 1, 0);
        if (!fits(line)) line = truncateLine(line, budget - open.length - close.length - 2);
      }
      body.push(line);
      bodyLength += line.length + 1;
    }
    current = joined(wrap(open, body));
  }
  flush();
  return parts;
}

export interface CommentOptions {
  maxChars?: number;
  /** Heads every continued part: "iact plan · staging". */
  title: string;
  /** Short name in each part's footer (default: the title). */
  footer?: string;
  /** HTML comment that lets a CI step find and update its comments: "iact-diff". */
  marker: string;
}

/** Comment bodies, each under maxChars (default 65,000). */
export function splitComment(blocks: Block[], opts: CommentOptions): string[] {
  const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
  const budget = maxChars - PART_RESERVE - opts.title.length - opts.marker.length;
  if (budget < 200) throw new RangeError(`maxChars ${maxChars} is too small to hold a comment`);
  const parts = packBlocks(blocks, budget);
  if (parts.length === 1) return [`${parts[0]}\n\n<!-- ${opts.marker} -->\n`];
  const footer = opts.footer ?? opts.title;
  return parts.map((body, i) => {
    const n = `part ${i + 1} of ${parts.length}`;
    const head = i === 0 ? '' : `**${opts.title} (${n}, continued)**\n\n`;
    return `${head}${body}\n\n<sub>${footer} · ${n}</sub>\n<!-- ${opts.marker}; ${n} -->\n`;
  });
}
