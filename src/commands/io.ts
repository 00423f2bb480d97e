// What every command gets from the CLI shell: where it runs and where it writes.
export interface CommandIO {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stdout is a terminal (live progress, prompts). */
  isTTY: boolean;
  /** colour allowed: see colorAllowed. */
  color: boolean;
  /** Read one line from the terminal (confirmation prompts); undefined when stdin is not a TTY. */
  prompt?: (question: string) => Promise<string>;
}

export interface GlobalOptions {
  dir?: string;
}

export type CommandResult = number; // exit code

/**
 * FORCE_COLOR (not "0") forces colour; otherwise a terminal, TERM not "dumb", and NO_COLOR unset
 * or empty: no-color.org asks only a non-empty NO_COLOR to turn colour off.
 */
export function colorAllowed(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.FORCE_COLOR) return env.FORCE_COLOR !== '0';
  return isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
}
