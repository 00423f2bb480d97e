// The command line as a module: parse options, lazy-import the command, map errors to exit codes.
// Importing it runs nothing (tests call buildProgram and main); src/bin.ts is the executable.
import { Argument, Command, CommanderError, Option } from 'commander';
import { SERVER_SERVICES } from './catalog/index.js';
import { colorAllowed, type CommandIO } from './commands/io.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Set when Ctrl-C answered a prompt: the command then fails as for "no", with exit 130. */
let promptInterrupted = false;

/** One line from the terminal; Ctrl-C and Ctrl-D (EOF) answer "" so the caller's "not yes" path runs. */
async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline');
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    let done = false;
    const finish = (answer: string, echo = '') => {
      if (done) return;
      done = true;
      process.stderr.write(echo);
      rl.close();
      resolve(answer);
    };
    // With a listener, readline reports Ctrl-C here instead of closing with an AbortError.
    rl.on('SIGINT', () => {
      promptInterrupted = true;
      finish('', '^C\n');
    });
    rl.on('close', () => finish('', '\n'));
    rl.question(question, (answer) => finish(answer));
  });
}

function makeIO(): CommandIO {
  const isTTY = Boolean(process.stdout.isTTY);
  const env = process.env;
  const color = colorAllowed(env, isTTY);
  return {
    cwd: process.cwd(),
    env,
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    isTTY,
    color,
    // Looked at only by commands that may ask: process.stdin is a stream that costs ~4 ms to build.
    get prompt() {
      return process.stdin.isTTY ? ask : undefined;
    },
  };
}

type Runner = (opts: Record<string, unknown>, io: CommandIO, args: string[], cmd: Command) => Promise<number>;

/** Each command lives in its own module (its own chunk when bundled), loaded only when it runs. */
const COMMANDS: Record<string, () => Promise<{ default: Runner }>> = {
  validate: () => import('./commands/validate.js'),
  config: () => import('./commands/config.js'),
  init: () => import('./commands/init.js'),
  plan: () => import('./commands/plan.js'),
  show: () => import('./commands/show.js'),
  apply: () => import('./commands/apply.js'),
  destroy: () => import('./commands/destroy.js'),
  status: () => import('./commands/status.js'),
  diff: () => import('./commands/diff.js'),
  reconcile: () => import('./commands/reconcile.js'),
  run: () => import('./commands/run.js'),
  snapshot: () => import('./commands/snapshot.js'),
  restore: () => import('./commands/restore.js'),
  doctor: () => import('./commands/doctor.js'),
  logs: () => import('./commands/logs.js'),
  connect: () => import('./commands/connect.js'),
  exec: () => import('./commands/exec.js'),
  install: () => import('./commands/install.js'),
  completion: () => import('./commands/completion.js'),
  __complete: () => import('./commands/completion.js').then((m) => ({ default: m.complete })),
  __spare: () => import('./sandbox/spare-keeper.js'),
  export: () => import('./commands/export.js'),
};

function lazy(name: keyof typeof COMMANDS) {
  return async (...received: unknown[]) => {
    const cmd = received[received.length - 1] as Command;
    const opts = { ...cmd.optsWithGlobals() } as Record<string, unknown>;
    if ('env' in opts) (await import('./project.js')).checkEnvironmentFlags(opts);
    const mod = await COMMANDS[name]!();
    process.exitCode = await mod.default(opts, makeIO(), cmd.args, cmd);
  };
}

function example(text: string): string {
  return `\nExamples:\n${text
    .trim()
    .split('\n')
    .map((l) => `  ${l.trim()}`)
    .join('\n')}\n`;
}

export function buildProgram(): Command {
  const program = new Command('iact')
    .description('Declarative reconciler for local service sandboxes and per-environment connection settings.')
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .option('-d, --dir <path>', 'project root (default: nearest folder with environments/)')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride();

  const formatOpt = (choices: string[], def = 'text') => new Option('-f, --format <format>', 'output format').choices(choices).default(def);

  program
    .command('validate')
    .description('check manifests and report every problem at once (file:line:col, with the fix)')
    .option('-e, --env <name>', 'environment to validate (default: detected)')
    .option('-a, --all', 'validate every manifest in environments/')
    .addHelpText('after', example('iact validate --all\niact validate --env staging'))
    .action(lazy('validate'));

  program
    .command('config')
    .description('print the resolved connection settings of an environment (secrets masked)')
    .argument('[key]', 'one setting, e.g. database.host or DB_HOST')
    .option('-e, --env <name>', 'environment (default: detected)')
    .addOption(formatOpt(['text', 'json', 'env', 'shell']))
    .option('--show-sensitive', 'print passwords, tokens and keys in clear')
    .addHelpText(
      'after',
      `${example('iact config --env production --format json\neval "$(iact config --format shell)"\niact config database.port')}
Asked for one sensitive KEY without --show-sensitive, it prints (sensitive), says so on stderr
and exits 1, so that PW=$(iact config DB_PASSWORD) fails instead of capturing the mask.
`,
    )
    .action(lazy('config'));

  program
    .command('init')
    .description('scaffold environments/, .env.example and .gitignore lines (never overwrites)')
    .addHelpText('after', example('mkdir myapp && cd myapp && iact init'))
    .action(lazy('init'));

  program
    .command('plan')
    .description('compare the manifest with the machine and show what apply would do')
    .option('-e, --env <name>', 'environment (default: detected)')
    .option('-a, --all', 'plan every environment')
    .option('-o, --out <file>', 'save the plan for `iact apply FILE`')
    .addOption(formatOpt(['text', 'json', 'markdown']))
    .option('--detailed-exitcode', 'exit 0 when no changes, 2 when changes, 1 on error')
    .option('-t, --target <name>', 'limit to this sandbox (repeatable)', collect)
    .option('--refresh-only', "report drift only: what changed on the machine behind iact's back")
    .addHelpText(
      'after',
      example('iact plan\niact plan --env staging --format markdown > plan.md\niact plan --out dev.plan && iact apply dev.plan'),
    )
    .action(lazy('plan'));

  program
    .command('show')
    .description('render a saved plan file')
    .argument('<planfile>', 'a file written by `iact plan --out`')
    .addOption(formatOpt(['text', 'json', 'markdown']))
    .addHelpText('after', example('iact show dev.plan --format markdown'))
    .action(lazy('show'));

  program
    .command('apply')
    .description('make the machine match the manifest (asks for `yes` unless --auto-approve)')
    .argument('[planfile]', 'apply exactly this saved plan (refused if stale)')
    .option('-e, --env <name>', 'environment (default: detected)')
    .option('-y, --auto-approve', 'do not ask for confirmation')
    .option('-p, --parallelism <n>', 'sandboxes changed at once (default: cores, at most 8)')
    .option('-t, --target <name>', 'limit to this sandbox (repeatable)', collect)
    .option('--allow-destroy', 'allow deleting or replacing protected and production sandboxes')
    .option('--no-backup', 'skip the backup before data-loss actions')
    .option('--lock-timeout <duration>', 'wait this long for another apply to finish (e.g. 30s)', '0s')
    .option('--json', 'one JSON event per line instead of progress')
    .addHelpText('after', example('iact apply\niact apply --env staging --auto-approve\niact apply dev.plan'))
    .action(lazy('apply'));

  program
    .command('destroy')
    .description('delete every sandbox of an environment')
    .option('-e, --env <name>', 'environment (default: detected)')
    .option('-y, --auto-approve', 'do not ask for confirmation')
    .option('-t, --target <name>', 'limit to this sandbox (repeatable)', collect)
    .option('--allow-destroy', 'allow deleting protected and production sandboxes')
    .option('--no-backup', 'skip the backup of data before deleting')
    .option('--lock-timeout <duration>', 'wait this long for another apply to finish (e.g. 30s)', '0s')
    .option('--json', 'one JSON event per line instead of progress')
    .addHelpText('after', example('iact destroy --auto-approve'))
    .action(lazy('destroy'));

  program
    .command('status')
    .description('live sandboxes: driver, service, port, running, healthy, drift, data size')
    .option('-e, --env <name>', 'environment (default: detected)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', example('iact status\niact status --env staging --json'))
    .action(lazy('status'));

  program
    .command('diff')
    .description('desired-state diff between git revisions or between environments (touches nothing)')
    .option('--from <gitref>', 'base revision')
    .option('--to <gitref>', 'head revision (default: the working tree)')
    .option('-e, --env <name>', 'environment (repeatable; two or more compare environments side by side)', collect)
    .addOption(formatOpt(['text', 'json', 'markdown']))
    .option('--summary', 'append the markdown to $GITHUB_STEP_SUMMARY')
    .option('--detailed-exitcode', 'exit 0 when no differences, 2 when differences, 1 on error')
    .addHelpText('after', example('iact diff --from origin/main\niact diff --env staging --env production'))
    .action(lazy('diff'));

  program
    .command('reconcile')
    .description('GitOps loop: observe, plan, apply when needed; one JSON log line per pass')
    .option('-e, --env <name>', 'environment (default: detected)')
    .option('-i, --interval <duration>', 'time between passes', '30s')
    .option('--once', 'run one pass and exit')
    .addHelpText('after', example('iact reconcile --env staging --interval 30s\niact reconcile --once'))
    .action(lazy('reconcile'));

  program
    .command('run')
    .description('run a command against an ephemeral sandbox on a free port, destroyed afterwards')
    .option('-s, --service <service>', `${SERVER_SERVICES.join(' | ')} (required unless --from)`, collect)
    .option('--driver <driver>', 'lightweight | namespace | docker', 'lightweight')
    .option('--setting <key=value>', 'a server setting (repeatable), e.g. max_connections=200', collect)
    .option('--admin', 'the sandbox user is an administrator (postgres superuser; mysql ALL WITH GRANT OPTION)')
    .option('--port <port>', 'this port instead of a free one')
    .option('--from <sandbox[@snapshot]>', "start from a copy of a sandbox's data (now, or a snapshot) of this project's environment")
    .option('-e, --env <name>', 'environment of the --from sandbox (default: detected)')
    .option('--durable', 'keep the data on disk with fsync on (default: tmpfs, fsync off)')
    .option('--tls', 'serve TLS only, with a CA of its own; the command gets verify-full variables (PGSSLMODE, DB_SSL_CA, rediss:// ...)')
    .option('--spares', 'list the warm spares kept for the next runs, and run nothing')
    .option('--clean-spares', 'stop and remove every warm spare, and run nothing')
    .argument('[command...]', 'the command to run, after --')
    .addHelpText(
      'after',
      example(
        'iact run --service postgres -- npm test\niact run --service redis -- pytest -x\niact run --service mysql --admin --setting max_connections=200 -- ./run-tests\niact run --from db@seeded -- npm test',
      ),
    )
    .action(lazy('run'));

  program
    .command('snapshot')
    .description("a consistent copy of a sandbox's data to branch from or restore (copy-on-write where the machine can)")
    .argument('[sandbox-and-name...]', 'SANDBOX [NAME] (default name: the UTC time)')
    .option('-e, --env <name>', 'environment (default: detected)')
    .option('-l, --list', 'list the snapshots (of one sandbox when named)')
    .option('--delete <sandbox@name>', 'delete a snapshot (branches made from it keep their data)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', example('iact snapshot db seeded\niact snapshot --list\niact snapshot --delete db@seeded'))
    .action(lazy('snapshot'));

  program
    .command('restore')
    .description("replace a sandbox's data with a snapshot's (asks for `yes` unless --auto-approve; a backup first)")
    .argument('<sandbox@snapshot>', 'the sandbox and the snapshot to restore')
    .option('-e, --env <name>', 'environment (default: detected)')
    .option('-y, --auto-approve', 'do not ask for confirmation')
    .option('--allow-destroy', 'allow restoring protected and production sandboxes')
    .option('--no-backup', 'skip the backup of the data being replaced')
    .option('--lock-timeout <duration>', 'wait this long for another apply to finish (e.g. 30s)', '0s')
    .addHelpText('after', example('iact restore db@seeded\niact restore db@seeded --auto-approve'))
    .action(lazy('restore'));

  program
    .command('doctor')
    .description('what each driver needs and whether this machine has it, with the fix')
    .option('--json', 'machine-readable output')
    .addHelpText('after', example('iact doctor'))
    .action(lazy('doctor'));

  program
    .command('logs')
    .description("a sandbox's server log; -f follows it across restarts and rotation")
    .argument('<sandbox>', 'sandbox name')
    .option('-e, --env <name>', 'environment (default: detected)')
    .option('-f, --follow', 'keep printing what the server logs (Ctrl-C to stop)')
    .option('-n, --lines <n>', 'only the last N lines')
    .addHelpText('after', example('iact logs dev-postgres -n 50\niact logs dev-redis -f --env staging'))
    .action(lazy('logs'));

  program
    .command('connect')
    .description("open the service's client (psql, mariadb, redis-cli) on a sandbox, logged in")
    .argument('<sandbox>', 'sandbox name')
    .option('-e, --env <name>', 'environment (default: detected)')
    .addHelpText('after', example('iact connect dev-postgres\necho "select 1" | iact connect dev-postgres'))
    .action(lazy('connect'));

  program
    .command('exec')
    .description("run a command with a sandbox's connection variables (DB_*, PG*, REDIS_*, DATABASE_URL)")
    .argument('<sandbox>', 'sandbox name')
    .argument('<command...>', 'the command to run, after --')
    .option('-e, --env <name>', 'environment (default: detected)')
    .addHelpText(
      'after',
      example('iact exec dev-postgres -- npm run migrate\niact exec dev-redis -- sh -c \'redis-cli -u "$REDIS_URL" ping\''),
    )
    .action(lazy('exec'));

  program
    .command('install')
    .description('download server binaries iact can run beside the system ones (postgres@16)')
    .argument('<what>', 'postgres@MAJOR (13 to 17)')
    .addHelpText('after', example('iact install postgres@16'))
    .action(lazy('install'));

  program
    .command('completion')
    .description('print a shell completion script (commands, flags, environments, sandboxes)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText('after', example('source <(iact completion bash)\niact completion fish > ~/.config/fish/completions/iact.fish'))
    .action(lazy('completion'));

  // A run's warm spare, kept in the background (docs/data.md "Warm spares").
  program
    .command('__spare', { hidden: true })
    .description('keep one warm spare for iact run (started by iact itself; the request on stdin)')
    .action(lazy('__spare'));

  // What the completion scripts call on each Tab: the candidates for the words typed so far.
  program
    .command('__complete', { hidden: true })
    .argument('[words...]', 'the words after `iact`, the last one being completed')
    .allowUnknownOption()
    .helpOption(false)
    .action(lazy('__complete'));

  program
    .command('export')
    .description('write an environment as objects for another engine (Kubernetes), secrets left out')
    .addOption(new Option('-f, --format <format>', 'what to write').choices(['kubernetes']).makeOptionMandatory())
    .option('-e, --env <name>', 'environment (default: detected)')
    .addOption(new Option('--operator <operator>', 'postgres as a CloudNativePG Cluster').choices(['cnpg']))
    .option('--include-secrets', 'write the Secret objects with their values (the file is made mode 0600)')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .addHelpText(
      'after',
      example(
        'iact export --format kubernetes --env staging > staging.k8s.yaml\niact export --format kubernetes --env staging --operator cnpg --out staging.yaml',
      ),
    )
    .action(lazy('export'));

  return program;
}

/** Runs `iact` with a full argv (node, script, args...); resolves to the exit code the command set, or 0. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    process.exitCode = await handleError(error);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0);
}

async function handleError(error: unknown): Promise<number> {
  if (error instanceof CommanderError) {
    // --help and --version are "errors" to commander; usage errors already printed their message.
    return error.exitCode === 0 ? 0 : 1;
  }
  const { DiagnosticError, formatDiagnostics, systemErrorDiagnostic } = await import('./diagnostics.js');
  if (error instanceof DiagnosticError) {
    process.stderr.write(`${formatDiagnostics(error.diagnostics)}\n`);
    return promptInterrupted ? 130 : 1;
  }
  const { DriverError, driverDiagnostic } = await import('./drivers/errors.js');
  if (error instanceof DriverError && process.env.IACT_DEBUG !== '1') {
    // The driver's own summary and fix (docs/driver-protocol.md, "Errors").
    process.stderr.write(`${formatDiagnostics([driverDiagnostic(error)])}\n`);
    return 1;
  }
  const system = systemErrorDiagnostic(error);
  if (system && process.env.IACT_DEBUG !== '1') {
    process.stderr.write(`${formatDiagnostics([system])}\n`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message}\n`);
  if (process.env.IACT_DEBUG === '1' && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  } else {
    process.stderr.write('  (set IACT_DEBUG=1 for a stack trace)\n');
  }
  return 1;
}
