/**
 * What a command may touch of the outside world, passed in so that tests run `main` in-process
 * (no build, no child process) and the bin wires it to the real process.
 */
export interface CliIo {
  stdout: { write(s: string): unknown }
  stderr: { write(s: string): unknown; isTTY?: boolean }
  env: Record<string, string | undefined>
  /** The home directory (~/.config/fencegate lives there). */
  home: string
  /** Aborted when the process is asked to stop (SIGTERM, SIGINT): `serve` and `lab` return. */
  stop: AbortSignal
  /** One line typed by the user (stdin), after a prompt on stderr; undefined at end of input. */
  readLine?: (prompt: string) => Promise<string | undefined>
}

/** An error the user gets as one line on stderr, with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
    this.name = 'CliError'
  }
}

/** Problems of a file, already `FILE:LINE: field: …` lines: printed as they are. */
export class FileProblems extends CliError {
  constructor(message: string) {
    super(message, 1)
    this.name = 'FileProblems'
  }
}

/** Bad command line: exit 2, one line saying why. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2)
    this.name = 'UsageError'
  }
}

/** Exit codes (the contract): 0 every target succeeded, 1 anything failed, 2 usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const
