import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { hashToken } from '../../api/auth.js'
import { CliError, type CliIo, EXIT } from '../io.js'

export interface TokenOptions {
  name?: string
  role?: string
  out?: string
  json?: boolean
}

/** 32 random bytes, base64url: long enough that a plain SHA-256 of it is a safe thing to store. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url')
}

export function tokenHash(token: string): string {
  return `sha256:${hashToken(token).toString('hex')}`
}

/**
 * `token`: a new API token and the line for the config's auth.tokens. The config keeps only the
 * hash; the token itself goes to the client (FENCEGATE_TOKEN, or a 0600 file: --out FILE).
 */
export async function tokenCommand(io: CliIo, o: TokenOptions): Promise<number> {
  const token = generateToken()
  const hash = tokenHash(token)
  const name = o.name ?? 'NAME'
  const role = o.role ?? 'operator'
  const entry = `- { name: ${name}, role: ${role}, hash: "${hash}" }`
  if (o.out !== undefined) {
    try {
      // wx: never overwrite a token someone relies on
      writeFileSync(o.out, `${token}\n`, { mode: 0o600, flag: 'wx' })
    } catch (e) {
      throw new CliError(`--out ${o.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    }
  }
  if (o.json) {
    io.stdout.write(
      `${JSON.stringify({ ...(o.out === undefined ? { token } : { tokenFile: o.out }), hash, name, role })}\n`,
    )
    return EXIT.ok
  }
  if (o.out === undefined) io.stdout.write(`token: ${token}\n`)
  else io.stdout.write(`token: written to ${o.out} (mode 0600)\n`)
  io.stdout.write(`hash: ${hash}\n`)
  io.stdout.write(`config (under auth.tokens): ${entry}\n`)
  return EXIT.ok
}
