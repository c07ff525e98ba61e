import { readFileSync, statSync } from 'node:fs'
import { AgentFailure } from './failure.js'

/** A token is one line of printable characters; anything else is a wrong file. */
const TOKEN = /^[\x21-\x7e]+$/

function check(value: string, where: string): string {
  const token = value.replace(/\r?\n$/, '')
  if (!token) throw new AgentFailure(`${where} is empty (expected the API token)`)
  if (!TOKEN.test(token))
    throw new AgentFailure(`${where} holds more than one token (expected one line, no spaces)`)
  return token
}

/**
 * Read the token file, refusing one that group or others can read (as ssh refuses a key):
 * a token that leaks lets anyone fence the cluster. The value never appears in a message.
 */
export function readTokenFile(file: string): string {
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(file)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new AgentFailure(
      `token_file: cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message} (${code})`,
    )
  }
  if (!st.isFile()) throw new AgentFailure(`token_file: ${file} is not a regular file`)
  if ((st.mode & 0o077) !== 0)
    throw new AgentFailure(
      `token_file: ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 ${file}`,
    )
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new AgentFailure(`token_file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code}`)
  }
  return check(text, `token_file ${file}`)
}

/** fence-agents' password_script: run by the shell, its stdout is the secret. Bounded in time. */
export async function runPasswordScript(script: string, timeoutMs: number): Promise<string> {
  const { spawn } = await import('node:child_process')
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8')
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new AgentFailure(`password_script: timed out after ${timeoutMs / 1000}s`))
    }, timeoutMs)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(new AgentFailure(`password_script: cannot run it: ${e.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0)
        return reject(
          new AgentFailure(
            `password_script: exited with ${signal ?? `code ${code}`}${err.trim() ? `: ${err.trim().split('\n')[0]}` : ''}`,
          ),
        )
      try {
        resolve(check(Buffer.concat(out).toString('utf8').trim(), 'the output of password_script'))
      } catch (e) {
        reject(e)
      }
    })
  })
}
