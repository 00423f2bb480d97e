#!/usr/bin/env node
// The `iact` executable, bundled to dist/cli.js (package.json "bin"); everything it does is in src/cli.ts.
import { main } from './cli.js';

// A reader that stops early (`iact plan | head`) ends iact as SIGPIPE ends any other tool: exit 141, no trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(141);
  });
}

process.exitCode = await main(process.argv);
