#!/usr/bin/env node
/**
 * The `fencegate` bin. Everything is in run.ts (tests call `main` in-process); this file wires it
 * to the process: argv, stdio, signals, the exit code.
 */
import { homedir } from 'node:os'
import { main } from './run.js'

const stop = new AbortController()
let signals = 0
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.on(sig, () => {
    // first signal: stop gracefully (serve drains, lab stops); second: now
    if (++signals > 1) process.exit(sig === 'SIGINT' ? 130 : 143)
    stop.abort(new Error(sig))
  })
// `fencegate history | head`: a closed pipe is not an error worth a stack trace
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
})

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  home: process.env.HOME || homedir(),
  stop: stop.signal,
  readLine: async (prompt) => {
    const { createInterface } = await import('node:readline/promises')
    const rl = createInterface({
      input: process.stdin,
      output: process.stderr,
      terminal: process.stdin.isTTY,
    })
    try {
      return await new Promise<string | undefined>((resolve) => {
        rl.once('close', () => resolve(undefined))
        rl.question(prompt, { signal: stop.signal }).then(resolve, () => resolve(undefined))
      })
    } finally {
      rl.close()
    }
  },
})
// stdout and stderr are synchronous on Linux for files and pipes: nothing is lost by exiting now,
// and an idle keep-alive socket cannot hold the command open
process.exit(code)
