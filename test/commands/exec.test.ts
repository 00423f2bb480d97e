// iact exec against a real postgres sandbox: the command gets the variables `iact run` exports,
// and its exit status (a code, or 128+N for a signal) is iact's.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding, freePorts, makeProject, type Project } from '../helpers/iact-project.js';
import { TEMPLATE_DIR } from '../helpers/services.js';

const PASSWORD = 'exec-Pg-Secret-62';
const env = { IACT_TEMPLATE_DIR: TEMPLATE_DIR };

describeNeeding('postgres')('iact exec (lightweight postgres)', { timeout: 240_000 }, () => {
  let project: Project;
  let port: number;
  beforeAll(async () => {
    project = makeProject('iact-exec-');
    [port] = (await freePorts(1)) as [number];
    project.writeEnv(`DB_VM_PASSWORD=${PASSWORD}\n`);
    project.writeManifest(
      'development',
      `apiVersion: iact/v1\nenvironment: development\ndefaults: { driver: lightweight }\nsandboxes:\n  dev-postgres:\n    service: postgres\n    port: ${port}\n    database: app\n    user: app\n    password: \${DB_VM_PASSWORD}\n`,
    );
    const applied = await project.iact(['apply', '--auto-approve'], { env });
    expect(applied.exitCode, applied.stderr).toBe(0);
  });
  afterAll(async () => project?.cleanup());

  it('exports the connection variables of iact run; psql with no arguments reaches the sandbox (exit 0)', async () => {
    const script =
      'printf "%s|%s|%s|%s|%s\\n" "$DB_HOST" "$DB_PORT" "$DB_NAME" "$DB_USER" "$IACT_SANDBOX"; psql -Atc "select current_user"; psql "$DATABASE_URL" -Atc "select 40 + 2"';
    const result = await project.iact(['exec', 'dev-postgres', '--', 'sh', '-c', script], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(`127.0.0.1|${port}|app|app|dev-postgres\napp\n42`);
    expect(result.stderr).not.toContain(PASSWORD);
  });

  it('passes exit code 3 through', async () => {
    const result = await project.iact(['exec', 'dev-postgres', '--', 'sh', '-c', 'exit 3'], { env });
    expect(result.exitCode).toBe(3);
  });

  it('exits 128+N when the command dies of signal N, and passes a SIGTERM sent to iact on to it', async () => {
    const killed = await project.iact(['exec', 'dev-postgres', '--', 'sh', '-c', 'kill -TERM $$'], { env });
    expect(killed.exitCode).toBe(143);

    const running = project.spawnIact(['exec', 'dev-postgres', '--', 'sh', '-c', 'echo started; exec sleep 60'], { env });
    await new Promise<void>((resolve) => running.stdout!.on('data', (d: Buffer) => d.toString().includes('started') && resolve()));
    running.kill('SIGTERM');
    const result = await running;
    expect(result.exitCode, `signal ${String(result.signal)}\n${String(result.stderr)}`).toBe(143);
  });

  it('127 and a message for a command that does not exist; a diagnostic for a sandbox that does not', async () => {
    const missing = await project.iact(['exec', 'dev-postgres', '--', 'no-such-command-here'], { env });
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain('cannot run no-such-command-here: command not found');
    const unknown = await project.iact(['exec', 'nope', '--', 'true'], { env });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain("no sandbox 'nope' in environment development");
    expect(unknown.stderr).toContain('sandboxes of development: dev-postgres');
  });
});
