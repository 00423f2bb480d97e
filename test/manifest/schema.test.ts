import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { didYouMean } from '../../src/manifest/schema.js';
import { REPO } from './helpers.js';

const schema = JSON.parse(readFileSync(path.join(REPO, 'schemas/manifest.schema.json'), 'utf8')) as Record<string, unknown>;

describe('schemas/manifest.schema.json', () => {
  it('is a strict JSON Schema 2020-12 document with an $id', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/^https:\/\//);
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, strictRequired: false });
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('describes every field (editors show the help)', () => {
    const undescribed: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (node === null || typeof node !== 'object') return;
      const obj = node as Record<string, unknown>;
      for (const [name, sub] of Object.entries((obj.properties as Record<string, Record<string, unknown>>) ?? {})) {
        if (typeof sub.description !== 'string') undescribed.push(`${where}.${name}`);
        walk(sub, `${where}.${name}`);
      }
      for (const key of ['additionalProperties', 'items', 'propertyNames']) {
        const sub = obj[key] as Record<string, unknown> | undefined;
        if (sub && typeof sub === 'object' && !sub.$ref && typeof sub.description !== 'string') undescribed.push(`${where}.${key}`);
        walk(sub, `${where}.${key}`);
      }
      for (const [name, sub] of Object.entries((obj.$defs as Record<string, unknown>) ?? {})) walk(sub, `$defs.${name}`);
    };
    walk(schema, '');
    expect(undescribed).toEqual([]);
  });

  it('the precompiled validator and the init templates are up to date', () => {
    execFileSync(process.execPath, [path.join(REPO, 'scripts/gen-manifest-validator.mjs'), '--check']);
    execFileSync(process.execPath, [path.join(REPO, 'scripts/gen-init-templates.mjs'), '--check']);
  });

  it('suggests close names', () => {
    expect(didYouMean('ssl_mode', ['sslMode', 'host'])).toBe('sslMode');
    expect(didYouMean('prot', ['port', 'protect'])).toBe('port');
    expect(didYouMean('zzzzzz', ['port', 'protect'])).toBeUndefined();
  });
});
