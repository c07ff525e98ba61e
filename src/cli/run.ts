import { CommanderError } from 'commander'
import { CliError, type CliIo, EXIT, FileProblems } from './io.js'
import { buildProgram } from './program.js'
import { version } from './version.js'

/** Commander's own output (help) goes through io; its errors become our one-line usage errors. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0) {
    io.stderr.write('fencegate: missing command (try fencegate --help)\n')
    return EXIT.usage
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    io.stdout.write(`fencegate ${version()}\n`)
    return EXIT.ok
  }
  let code: number = EXIT.ok
  const program = buildProgram(io, (c) => {
    code = c
  })
  program.exitOverride()
  program.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    outputError: () => {},
  })
  for (const cmd of program.commands)
    cmd.exitOverride().configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => {},
    })
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return code
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.help' ||
        e.code === 'commander.version'
      )
        return EXIT.ok
      io.stderr.write(
        `fencegate: ${e.message
          .replace(/^error: /, '')
          .replace(/\s*\n\s*/g, ' ')
          .trim()}\n`,
      )
      return EXIT.usage
    }
    if (e instanceof CliError) {
      // config and lab problems are FILE:LINE: … lines: print them as they are
      io.stderr.write(e instanceof FileProblems ? `${e.message}\n` : `fencegate: ${e.message}\n`)
      return e.exitCode
    }
    io.stderr.write(`fencegate: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    return EXIT.failed
  }
}
