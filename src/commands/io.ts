// What every command gets from the CLI shell: where it runs and where it writes.
export interface CommandIO {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stdout is a terminal (live progress, prompts). */
  isTTY: boolean;
  /** colour allowed: a terminal and NO_COLOR unset, or FORCE_COLOR set. */
  color: boolean;
  /** Read one line from the terminal (confirmation prompts); undefined when stdin is not a TTY. */
  prompt?: (question: string) => Promise<string>;
}

export interface GlobalOptions {
  dir?: string;
}

export type CommandResult = number; // exit code
