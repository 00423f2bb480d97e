// src/diagnostics.ts: Node's file-system errors become diagnostics with a fix, not "ENOENT: ..." lines.
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { systemErrorDiagnostic } from '../src/diagnostics.js';

describe('systemErrorDiagnostic', () => {
  it('turns a real EACCES/ENOENT from node:fs into a summary, the syscall and a fix', () => {
    let caught: unknown;
    try {
      mkdirSync('/nonexistent-iact-parent/child/.iact');
    } catch (error) {
      caught = error;
    }
    expect(systemErrorDiagnostic(caught)).toMatchObject({
      summary: 'no such file or folder: /nonexistent-iact-parent/child/.iact',
      detail: 'while trying to mkdir it (ENOENT)',
      fix: expect.stringContaining('writable'),
      code: 'system.enoent',
    });
  });

  it('knows read-only file systems and full disks, and leaves other errors alone', () => {
    expect(systemErrorDiagnostic({ code: 'EROFS', path: '/repo/.iact', syscall: 'mkdir' })?.summary).toBe(
      '/repo/.iact is on a read-only file system',
    );
    expect(systemErrorDiagnostic({ code: 'ENOSPC', path: '/repo/.iact/env/x.env', syscall: 'write' })?.fix).toContain(
      'free some disk space',
    );
    expect(systemErrorDiagnostic({ code: 'EWEIRD', path: '/x', syscall: 'open' })).toMatchObject({ summary: 'open failed on /x (EWEIRD)' });
    expect(systemErrorDiagnostic(new Error('plain'))).toBeUndefined();
    // write-file-atomic's temporary file: the folder is named, the file only in the detail.
    expect(systemErrorDiagnostic({ code: 'EACCES', path: '/repo/.iact/env/dev.env.1465467627', syscall: 'open' })).toMatchObject({
      summary: 'permission denied: /repo/.iact/env',
      detail: 'while trying to open a temporary file in it, /repo/.iact/env/dev.env.1465467627 (EACCES)',
    });
  });
});
