// Detection order (docs/manifest.md "Which environment"): --env > IACT_ENV > ENVIRONMENT > APP_ENV > DJANGO_ENV > development;
// for each variable the process environment wins over .env.
import { describe, expect, it } from 'vitest';
import { describeDetected, detectEnvironment } from '../../src/manifest/detect.js';

const all = { IACT_ENV: 'a', ENVIRONMENT: 'b', APP_ENV: 'c', DJANGO_ENV: 'd' };

describe('detectEnvironment', () => {
  it.each([
    ['flag beats everything', { flag: 'x', env: all, dotenv: all }, 'x, from --env'],
    ['IACT_ENV first', { env: all, dotenv: {} }, 'a, from IACT_ENV in the process environment'],
    [
      'ENVIRONMENT next',
      { env: { ENVIRONMENT: 'b', APP_ENV: 'c', DJANGO_ENV: 'd' }, dotenv: {} },
      'b, from ENVIRONMENT in the process environment',
    ],
    ['APP_ENV next', { env: { APP_ENV: 'c', DJANGO_ENV: 'd' }, dotenv: {} }, 'c, from APP_ENV in the process environment'],
    ['DJANGO_ENV last', { env: { DJANGO_ENV: 'd' }, dotenv: {} }, 'd, from DJANGO_ENV in the process environment'],
    ['.env counts for its variable', { env: {}, dotenv: { ENVIRONMENT: 'staging' } }, 'staging, from ENVIRONMENT in .env'],
    [
      'process env wins over .env for the same variable',
      { env: { ENVIRONMENT: 'p' }, dotenv: { ENVIRONMENT: 'f' } },
      'p, from ENVIRONMENT in the process environment',
    ],
    [
      'a higher variable in .env beats a lower one in the process',
      { env: { APP_ENV: 'c' }, dotenv: { IACT_ENV: 'f' } },
      'f, from IACT_ENV in .env',
    ],
    ['empty values are skipped', { env: { IACT_ENV: '' }, dotenv: { ENVIRONMENT: '', APP_ENV: 'c' } }, 'c, from APP_ENV in .env'],
    [
      'default',
      { env: {}, dotenv: {} },
      'development, from the default, as none of --env, IACT_ENV, ENVIRONMENT, APP_ENV, DJANGO_ENV is set',
    ],
  ])('%s', (_label, input, expected) => {
    expect(describeDetected(detectEnvironment(input))).toBe(expected);
  });
});
