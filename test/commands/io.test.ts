import { describe, expect, it } from 'vitest';
import { colorAllowed } from '../../src/commands/io.js';

describe('colorAllowed', () => {
  it('follows no-color.org: only a non-empty NO_COLOR turns colour off', () => {
    expect(colorAllowed({}, true)).toBe(true);
    expect(colorAllowed({ NO_COLOR: '' }, true)).toBe(true);
    expect(colorAllowed({ NO_COLOR: '1' }, true)).toBe(false);
    expect(colorAllowed({ NO_COLOR: '0' }, true)).toBe(false);
  });

  it('needs a terminal and TERM other than dumb, unless FORCE_COLOR says otherwise', () => {
    expect(colorAllowed({}, false)).toBe(false);
    expect(colorAllowed({ TERM: 'dumb' }, true)).toBe(false);
    expect(colorAllowed({ FORCE_COLOR: '1', NO_COLOR: '1' }, false)).toBe(true);
    expect(colorAllowed({ FORCE_COLOR: '0' }, true)).toBe(false);
  });
});
