#!/usr/bin/env node
/**
 * fence_fencegate: the standard fence-agent interface (as Pacemaker's fencer uses it) over
 * fencegate's REST API. Kept light: it is started for every fence, monitor and list.
 */
import { fstatSync, readFileSync } from 'node:fs'
import { processIo } from './io.js'
import { runAgent } from './run.js'

async function readStdin(): Promise<string> {
  // run by hand with neither arguments nor piped input: do not wait on the terminal (a terminal,
  // like /dev/null, is a character device; node:tty's isatty would load node:net at start-up)
  try {
    if (fstatSync(0).isCharacterDevice()) return ''
  } catch {
    return '' // no stdin at all
  }
  try {
    // Pacemaker's pipe, read at once: no stream machinery to load (start-up time)
    return readFileSync(0, 'utf8')
  } catch (e) {
    // a non-blocking pipe (EAGAIN) is read as a stream
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e
  }
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

const io = processIo()
runAgent({ argv: process.argv.slice(2), readStdin, env: process.env, io }).then(
  (code) => {
    process.exitCode = code
    // sockets and timers are closed, but never let a stray handle hold Pacemaker's fence open
    setTimeout(() => process.exit(code), 1000).unref()
  },
  (e) => {
    io.err(`Failed: internal error: ${(e as Error).stack ?? e}`)
    process.exit(1)
  },
)
