// Reading a server's log file as `tail -n N` and `tail -F` do: the last lines, then everything
// written after them, across a restart and a rotation (the file renamed or truncated and made again).
import { open, stat, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 64 * 1024;

/** Byte offset where the last `lines` lines of the file begin (0 for the whole file). */
export async function offsetOfLastLines(file: FileHandle, size: number, lines: number): Promise<number> {
  if (lines <= 0) return size;
  const buffer = Buffer.allocUnsafe(CHUNK);
  let end = size;
  let found = 0;
  // A final newline ends the last line; it does not start another.
  let skipTrailing = true;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const { bytesRead } = await file.read(buffer, 0, end - start, start);
    for (let i = bytesRead - 1; i >= 0; i -= 1) {
      if (buffer[i] !== 0x0a) continue;
      if (skipTrailing && start + i === size - 1) continue;
      found += 1;
      if (found === lines) return start + i + 1;
    }
    skipTrailing = false;
    end = start;
  }
  return 0;
}

/** Copies bytes [from, to) of the file to `write`, decoded as UTF-8 across chunk boundaries. */
async function copyRange(
  file: FileHandle,
  from: number,
  to: number,
  decoder: StringDecoder,
  write: (text: string) => void,
): Promise<number> {
  const buffer = Buffer.allocUnsafe(CHUNK);
  let offset = from;
  while (offset < to) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK, to - offset), offset);
    if (bytesRead === 0) break;
    write(decoder.write(buffer.subarray(0, bytesRead)));
    offset += bytesRead;
  }
  return offset;
}

export interface TailOptions {
  /** Last N lines first; undefined: the whole file. */
  lines?: number;
  follow: boolean;
  /** Ends a follow. */
  signal?: AbortSignal;
  /** How often a follow looks for new bytes (ms). */
  pollMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Writes the log to `write`. Without follow it returns at the end of the file (false when there is
 * no file). With follow it polls until the signal aborts: a file replaced by another (new inode) is
 * read to its end and then the new one from its start; a truncated file is read again from 0; a file
 * that is missing for a while is waited for.
 */
export async function tailLog(path: string, write: (text: string) => void, options: TailOptions): Promise<boolean> {
  const decoder = new StringDecoder('utf8');
  let handle: FileHandle | undefined;
  let inode = -1;
  let offset = 0;
  let first = true;
  let seen = false;
  try {
    for (;;) {
      let current: { ino: number; size: number } | undefined;
      try {
        current = await stat(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      if (current && current.ino !== inode) {
        if (handle) {
          // Rotated: what the old file got after our last read still belongs to the log.
          const { size } = await handle.stat();
          await copyRange(handle, offset, size, decoder, write);
          await handle.close();
          handle = undefined;
        }
        try {
          handle = await open(path, 'r');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
        if (handle) {
          const opened = await handle.stat();
          inode = opened.ino;
          seen = true;
          offset = first && options.lines !== undefined ? await offsetOfLastLines(handle, opened.size, options.lines) : 0;
          first = false;
        }
      }
      if (handle) {
        const { size } = await handle.stat();
        // Truncated in place (copytruncate, `: > server.log`): start again from its beginning.
        if (size < offset) offset = 0;
        offset = await copyRange(handle, offset, size, decoder, write);
      }
      first = false;
      if (!options.follow || options.signal?.aborted) break;
      await sleep(options.pollMs ?? 200, options.signal);
      if (options.signal?.aborted) break;
    }
    write(decoder.end());
    return seen;
  } finally {
    await handle?.close();
  }
}
