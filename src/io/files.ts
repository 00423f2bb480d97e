// Reading the project's own text files (manifests, .env files): regular files only, size-capped,
// so a FIFO cannot hang a plan, a directory gives a diagnostic and a huge file is refused before it is
// read (docs/manifest.md "Files").
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { DiagnosticError, diag } from '../diagnostics.js';

/** What the file is instead of a regular one, for the diagnostic. */
function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * The text of `absolute` (shown as `rel`), or undefined when it does not exist. Links are followed; what
 * they lead to must be a regular file of at most `maxBytes`. It is opened non-blocking and checked
 * again once open, so a FIFO swapped in between cannot block.
 */
export function readProjectText(absolute: string, rel: string, maxBytes: number, what: string): string | undefined {
  let st;
  try {
    st = statSync(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DiagnosticError(unreadable(rel, what, (error as NodeJS.ErrnoException).code));
  }
  if (!st.isFile()) throw new DiagnosticError(notRegular(rel, what, kindOf(st)));
  let fd: number;
  try {
    fd = openSync(absolute, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new DiagnosticError(unreadable(rel, what, (error as NodeJS.ErrnoException).code));
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw new DiagnosticError(notRegular(rel, what, kindOf(opened)));
    if (opened.size > maxBytes) throw new DiagnosticError(tooLarge(rel, what, opened.size, maxBytes));
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function notRegular(rel: string, what: string, kind: string) {
  return diag(`${rel} is ${kind}, not a regular file`, {
    location: { file: rel, line: 1, col: 1 },
    code: 'file.not-regular',
    fix: `iact reads ${what} only from a regular file (a link to one is fine): replace ${rel} with one, or remove it`,
  });
}

function tooLarge(rel: string, what: string, bytes: number, max: number) {
  return diag(`${rel} is ${megabytes(bytes)}; the limit for ${what} is ${megabytes(max)}`, {
    location: { file: rel, line: 1, col: 1 },
    code: 'file.too-large',
    fix: `check that ${rel} is the right file: ${what} hold a few settings`,
  });
}

function unreadable(rel: string, what: string, code: string | undefined) {
  return diag(`cannot read ${rel}${code ? ` (${code})` : ''}`, {
    location: { file: rel, line: 1, col: 1 },
    code: 'file.unreadable',
    fix: `check the owner and mode of ${rel}: iact reads ${what} from it`,
  });
}
