// Driver registry: one bash script per driver (README.md "Drivers", docs/driver-protocol.md), each wrapped by BashDriver.
import { access, constants } from 'node:fs/promises';
import type { DriverName } from '../model/types.js';
import { BashDriver, findBinary, type AvailabilityCheck } from './bash-driver.js';
import { reportedError } from './errors.js';
import type { DriverAvailability, DriverWriter, SnapshotDriver } from './types.js';

export { BashDriver, BASH_DIR, parseStatus } from './bash-driver.js';
export { DriverError, driverDiagnostic, type DriverErrorKind } from './errors.js';

const SCRIPTS: Record<DriverName, string> = {
  lightweight: 'lightweight_venv.sh',
  namespace: 'wasm_style_sandbox.sh',
  docker: 'virtualize.sh',
};

const ok: DriverAvailability = { available: true };

async function needJq(): Promise<DriverAvailability | undefined> {
  if (await findBinary('jq')) return undefined;
  return { available: false, reason: 'jq is not installed (the driver scripts parse specs with it)', fix: 'apt-get install -y jq' };
}

const lightweight: AvailabilityCheck = async () => (await needJq()) ?? ok;

const namespace: AvailabilityCheck = async () => {
  if (process.getuid?.() !== 0) {
    return {
      available: false,
      reason: 'the namespace driver needs root (bubblewrap namespaces, a uid per sandbox, cgroup memory limits)',
      fix: 'run iact as root (sudo), or use driver: lightweight',
    };
  }
  const missing = (await needJq()) ?? undefined;
  if (missing) return missing;
  if (!(await findBinary('bwrap')))
    return { available: false, reason: 'bwrap is not installed (it builds the sandbox)', fix: 'apt-get install -y bubblewrap' };
  if (!(await findBinary('socat')))
    return {
      available: false,
      reason: 'socat is not installed (it exposes the sandbox port on 127.0.0.1)',
      fix: 'apt-get install -y socat',
    };
  return ok;
};

/** The docker script's own `check` verb when it has one; otherwise a quick `docker info`. */
const docker: AvailabilityCheck = async (ctx, driver) => {
  const { execa } = await import('execa');
  let hasScript = true;
  try {
    await access(driver.scriptPath, constants.R_OK);
  } catch {
    hasScript = false;
  }
  if (hasScript) {
    const r = await execa('bash', [driver.scriptPath, 'check', '--env', ctx.environment], {
      cwd: ctx.root,
      env: { IACT_SANDBOX_ROOT: ctx.sandboxRoot, IACT_DRIVER_ERRORS: 'json' },
      stdin: 'ignore',
      reject: false,
      timeout: 20_000,
    });
    if (r.exitCode === 0) return ok;
    const reported = reportedError(String(r.stderr ?? ''), r.exitCode);
    return {
      available: false,
      reason: reported?.summary || 'the docker engine is not reachable',
      fix: reported?.fix || 'start a docker engine (dockerd) and retry',
    };
  }
  if (!(await findBinary('docker'))) return { available: false, reason: 'docker is not installed', fix: 'apt-get install -y docker.io' };
  const r = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { stdin: 'ignore', reject: false, timeout: 5_000 });
  if (r.exitCode === 0) return ok;
  return { available: false, reason: 'no docker engine is reachable', fix: 'start one: dockerd --iptables=false --storage-driver=vfs &' };
};

const CHECKS: Record<DriverName, AvailabilityCheck> = { lightweight, namespace, docker };
const cache = new Map<DriverName, BashDriver>();

export function getDriver(name: DriverName): DriverWriter & SnapshotDriver {
  let driver = cache.get(name);
  if (!driver) {
    const script = SCRIPTS[name];
    const check = CHECKS[name];
    if (!script || !check) throw new Error(`unknown driver '${String(name)}'`);
    driver = new BashDriver(name, script, check, { batch: name !== 'docker' });
    cache.set(name, driver);
  }
  return driver;
}

export function scriptFor(name: DriverName): string {
  return SCRIPTS[name];
}
