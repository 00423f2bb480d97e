// iact completion bash|zsh|fish, and the hidden `iact __complete` each Tab calls. The scripts are
// thin: the candidates come from the commander program itself (commands, flags, choices) and, for
// environments and sandboxes, from environments/*.yaml parsed without interpolation (docs/operators.md).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command, Option } from 'commander';
import { detectEnvironmentIn } from '../io/detect.js';
import { readProjectText } from '../io/files.js';
import { listEnvironments, sandboxRootSetting } from '../io/load.js';
import { MAX_MANIFEST_BYTES, parseYaml } from '../manifest/yaml.js';
import { findProjectRoot, projectPaths } from '../project.js';
import type { CommandIO } from './io.js';

const SCRIPTS: Record<string, string> = {
  bash: `# iact completion for bash. Load it with: source <(iact completion bash)
# or install it: iact completion bash > ~/.local/share/bash-completion/completions/iact
_iact_complete() {
  local line
  COMPREPLY=()
  while IFS= read -r line; do
    [[ -n "\${line}" ]] && COMPREPLY+=("\${line}")
  done < <(iact __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
}
complete -o default -F _iact_complete iact
`,
  zsh: `#compdef iact
# iact completion for zsh. Load it with: source <(iact completion zsh)
# or install it: iact completion zsh > "\${fpath[1]}/_iact" (then restart zsh)
_iact() {
  local -a candidates
  candidates=("\${(@f)$(iact __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=("\${(@)candidates:#}")
  if (( \${#candidates} )); then
    compadd -Q -a candidates
  else
    _files
  fi
}
if [[ "\${funcstack[1]}" == _iact ]]; then
  _iact "$@"
else
  compdef _iact iact
fi
`,
  fish: `# iact completion for fish. Install it: iact completion fish > ~/.config/fish/completions/iact.fish
function __iact_complete
    set -l words (commandline -opc) (commandline -ct)
    iact __complete -- $words[2..-1] 2>/dev/null
end
complete -c iact -f -a '(__iact_complete)'
`,
};

export default async function completion(_opts: Record<string, unknown>, io: CommandIO, args: string[]): Promise<number> {
  io.stdout(SCRIPTS[args[0]!]!);
  return 0;
}

/** What a value of an option or argument is, for completion. */
type ValueKind = { choices: string[] } | 'environment' | 'sandbox' | 'none';

function optionKind(option: Option): ValueKind {
  if (option.argChoices) return { choices: option.argChoices };
  if (option.attributeName() === 'env') return 'environment';
  if (option.attributeName() === 'target') return 'sandbox';
  return 'none';
}

const takesValue = (option: Option): boolean => option.required || option.optional;

function findOption(cmds: Command[], word: string): Option | undefined {
  const flag = word.includes('=') ? word.slice(0, word.indexOf('=')) : word;
  for (const cmd of cmds) {
    const found = cmd.options.find((o) => o.long === flag || o.short === flag);
    if (found) return found;
  }
  return undefined;
}

/** Sandbox names under `sandboxes:` of a manifest, parsed (the fast path for block style) but not interpolated. */
function sandboxNamesOf(text: string, file: string): string[] {
  const data = parseYaml(text, file).data as { sandboxes?: unknown } | undefined;
  return data?.sandboxes && typeof data.sandboxes === 'object' ? Object.keys(data.sandboxes) : [];
}

/** The sandboxes of the environment: its manifest's, and those on this machine (one removed from the manifest can still be shown). */
async function sandboxesOf(root: string, environment: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const names = new Set<string>();
  for (const ext of ['yaml', 'yml']) {
    let text: string | undefined;
    try {
      // A FIFO or a huge file in environments/ must not hang the shell's completion (docs/manifest.md "Files").
      text = readProjectText(path.join(root, 'environments', `${environment}.${ext}`), `environments/${environment}.${ext}`, MAX_MANIFEST_BYTES, 'manifests');
    } catch {
      continue;
    }
    if (text === undefined) continue;
    for (const n of sandboxNamesOf(text, `${environment}.${ext}`)) names.add(n);
  }
  try {
    for (const n of readdirSync(path.join(projectPaths(root, env, sandboxRootSetting(root, environment, env)).sandboxes, environment))) if (!n.startsWith('.')) names.add(n);
  } catch {
    // no sandbox on this machine yet
  }
  return [...names].sort();
}

interface Parsed {
  sub?: Command;
  /** Values of options typed so far (last one wins). */
  values: Map<string, string>;
  positionals: number;
  afterDashDash: boolean;
  /** The option whose value is being typed. */
  pending?: Option;
}

function parseWords(program: Command, words: string[]): Parsed {
  const parsed: Parsed = { values: new Map(), positionals: 0, afterDashDash: false };
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i]!;
    const scope = parsed.sub ? [parsed.sub, program] : [program];
    if (parsed.afterDashDash) continue;
    if (word === '--') {
      parsed.afterDashDash = true;
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      const option = findOption(scope, word);
      if (!option || !takesValue(option)) continue;
      if (word.includes('=')) parsed.values.set(option.attributeName(), word.slice(word.indexOf('=') + 1));
      else if (i + 1 < words.length) parsed.values.set(option.attributeName(), words[(i += 1)]!);
      continue;
    }
    if (!parsed.sub) {
      parsed.sub = program.commands.find((c) => c.name() === word || c.aliases().includes(word));
      continue;
    }
    parsed.positionals += 1;
  }
  return parsed;
}

async function valuesOf(kind: ValueKind, parsed: Parsed, io: CommandIO): Promise<string[]> {
  if (kind === 'none') return [];
  if (typeof kind === 'object') return kind.choices;
  const root = findProjectRoot(io.cwd, parsed.values.get('dir'));
  if (kind === 'environment') return listEnvironments(root);
  const environment = detectEnvironmentIn(root, { flag: parsed.values.get('env'), env: io.env }).name;
  return sandboxesOf(root, environment, io.env);
}

/** Candidates for the last word, given the words before it. */
export async function candidates(program: Command, words: string[], io: CommandIO): Promise<string[]> {
  const before = words.slice(0, -1);
  const current = words[words.length - 1] ?? '';
  const parsed = parseWords(program, before);
  const scope = parsed.sub ? [parsed.sub, program] : [program];
  const last = before[before.length - 1];
  const pendingOption = last && last.startsWith('-') && !last.includes('=') && !parsed.afterDashDash ? findOption(scope, last) : undefined;
  let found: string[];
  if (parsed.afterDashDash) {
    found = [];
  } else if (pendingOption && takesValue(pendingOption)) {
    found = await valuesOf(optionKind(pendingOption), parsed, io);
  } else if (current.startsWith('-')) {
    found = scope.flatMap((c) => c.options.filter((o) => !o.hidden).flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))));
    found.push('--help');
  } else if (!parsed.sub) {
    found = program.createHelp().visibleCommands(program).map((c) => c.name()).filter((n) => n !== 'help');
  } else {
    const argument = parsed.sub.registeredArguments[Math.min(parsed.positionals, parsed.sub.registeredArguments.length - 1)];
    const kind: ValueKind = !argument || parsed.positionals >= parsed.sub.registeredArguments.length && !argument.variadic ? 'none' : argument.argChoices ? { choices: argument.argChoices } : argument.name() === 'sandbox' ? 'sandbox' : 'none';
    found = await valuesOf(kind, parsed, io);
  }
  return [...new Set(found)].filter((c) => c.startsWith(current));
}

export async function complete(_opts: Record<string, unknown>, io: CommandIO, args: string[], cmd: Command): Promise<number> {
  try {
    const list = await candidates(cmd.parent!, args.length > 0 ? args : [''], io);
    if (list.length > 0) io.stdout(`${list.join('\n')}\n`);
  } catch (error) {
    // A Tab never prints an error (no project here, an unreadable manifest: no candidates), unless debugging.
    if (io.env.IACT_DEBUG === '1') io.stderr(`${error instanceof Error ? error.stack : String(error)}\n`);
  }
  return 0;
}
