// sha256 in hex, the one hash of plans, specs and fingerprints.
import { createRequire } from 'node:module';

type OneShot = (algorithm: string, data: string, encoding: 'hex') => string;
type Crypto = typeof import('node:crypto');

// Loaded on first use: node:crypto costs ~12 ms of cold start, and `iact validate` never hashes.
let crypto: Crypto | undefined;
let oneShot: OneShot | undefined;

export function sha256(text: string): string {
  if (!crypto) {
    crypto = createRequire(import.meta.url)('node:crypto') as Crypto;
    // crypto.hash (Node >= 20.12) skips building a Hash object: plans of 1000 sandboxes hash ~3000
    // strings, ~4x faster so. Older Node 20 takes the long way.
    oneShot = (crypto as unknown as { hash?: OneShot }).hash;
  }
  return oneShot ? oneShot('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}
