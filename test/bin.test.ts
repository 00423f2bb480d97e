// src/bin.ts: what the executable does around main(), seen from a shell pipeline.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/services.js';

const cli = path.join(repoRoot, 'dist', 'cli.js');

describe('iact executable', () => {
  it('a reader that closes the pipe early ends iact quietly with 141, as SIGPIPE does', () => {
    // `true` exits before node has started, so iact's first write meets a closed pipe; pipefail reports iact's status.
    const r = spawnSync('bash', ['-c', 'set -o pipefail; node "$1" --help | true; echo "status=$?"', 'x', cli], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('status=141');
  });
});
