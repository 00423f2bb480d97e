import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MANIFEST_TEMPLATES, ENV_EXAMPLE_TEMPLATE } from '../../src/manifest/templates.js';
import { cleanupTemp, REPO, runCli, runCommand, tempProject } from '../manifest/helpers.js';

afterAll(cleanupTemp);

describe('iact init', () => {
  it('scaffolds a project that validates, and appends .gitignore lines', async () => {
    const dir = tempProject();
    writeFileSync(path.join(dir, '.gitignore'), 'node_modules/\n.env\n');
    const run = await runCommand('init', {}, dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('created environments/development.yaml');
    expect(run.stdout).toContain('updated .gitignore (.env.* !.env.example .iact/)');
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe(
      'node_modules/\n.env\n# iact: secrets, working area, installed packages\n.env.*\n!.env.example\n.iact/\n',
    );
    expect(readFileSync(path.join(dir, 'environments/staging.yaml'), 'utf8')).toContain(
      '$schema=../node_modules/iact/schemas/manifest.schema.json',
    );
    const validate = await runCli(['validate', '--all'], dir);
    expect(validate.stderr).toBe('');
    expect(validate.code).toBe(0);
  });

  it('in an empty folder: ignores node_modules/ too, and a second run exits 0 keeping every file', async () => {
    const dir = tempProject();
    expect((await runCommand('init', {}, dir)).code).toBe(0);
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe(
      '# iact: secrets, working area, installed packages\n.env\n.env.*\n!.env.example\n.iact/\nnode_modules/\n',
    );
    const again = await runCommand('init', {}, dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(
      'kept existing environments/development.yaml\nkept existing environments/staging.yaml\nkept existing environments/production.yaml\nkept existing .env.example\n',
    );
    expect(again.stdout).not.toContain('.gitignore');
  });

  it('keeps files that exist, creates the missing ones, and overwrites nothing', async () => {
    const dir = tempProject();
    writeFileSync(path.join(dir, '.env.example'), 'MINE=1\n');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.join(dir, 'environments'));
    writeFileSync(path.join(dir, 'environments/staging.yaml'), 'mine\n');
    writeFileSync(path.join(dir, 'environments/production.yml'), 'mine too\n');
    const run = await runCommand('init', {}, dir);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(
      'created environments/development.yaml\nkept existing environments/staging.yaml\nkept existing environments/production.yml\nkept existing .env.example\n',
    );
    expect(readFileSync(path.join(dir, 'environments/staging.yaml'), 'utf8')).toBe('mine\n');
    expect(readFileSync(path.join(dir, '.env.example'), 'utf8')).toBe('MINE=1\n');
    // A .yaml beside the .yml would be a second manifest for production.
    expect(existsSync(path.join(dir, 'environments/production.yaml'))).toBe(false);
    expect(readFileSync(path.join(dir, 'environments/development.yaml'), 'utf8')).toContain('environment: development');
    expect(existsSync(path.join(dir, '.env'))).toBe(false);
    const again = await runCommand('init', {}, dir);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('created');
  });

  it('embeds exactly the bundled manifests and .env.example (regenerate with scripts/gen-init-templates.mjs)', () => {
    for (const name of ['development', 'staging', 'production'] as const) {
      const bundled = readFileSync(path.join(REPO, `environments/${name}.yaml`), 'utf8');
      expect(MANIFEST_TEMPLATES[name].replace('$schema=__SCHEMA__', '$schema=../schemas/manifest.schema.json')).toBe(bundled);
    }
    expect(ENV_EXAMPLE_TEMPLATE).toBe(readFileSync(path.join(REPO, '.env.example'), 'utf8'));
  });
});
