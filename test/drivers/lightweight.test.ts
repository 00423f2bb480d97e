// lightweight driver: every service, real binaries, real clients (see test/helpers/lifecycle.ts).
import { describe } from 'vitest';
import { lifecycleSuite } from '../helpers/lifecycle.js';

describe('lightweight driver', () => {
  lifecycleSuite('lightweight');
});
