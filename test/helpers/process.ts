import { spawn } from 'node:child_process'

export interface ProcessRun {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/**
 * Runs a command to its end, collecting its output. `stdin`, when given, is written and closed
 * (otherwise stdin is /dev/null); `env` replaces the environment when given. A child still
 * running after `timeoutMs` is killed (SIGKILL), so a hung tool cannot hang the test.
 */
export function runProcess(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs: number },
): Promise<ProcessRun> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...(opts.env ? { env: opts.env } : {}),
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (c) => {
      stdout += c
    })
    child.stderr!.on('data', (c) => {
      stderr += c
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: performance.now() - started })
    })
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin)
  })
}
