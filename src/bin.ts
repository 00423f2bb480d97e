#!/usr/bin/env node
// The `iact` executable, bundled to dist/cli.js (package.json "bin"); everything it does is in src/cli.ts.
import { main } from './cli.js';

process.exitCode = await main(process.argv);
