import { readFileSync, statSync } from 'node:fs'
import type { SecretRef } from '../../core/problems.js'
import { FenceError } from '../../core/errors.js'

/**
 * A file holding a secret (a device password, a key, the TLS private key) must be a regular file
 * that only its owner can read, and that owner must be this process's user or root: a file that
 * another user owns could be rewritten by them (as ssh checks a key). Errors name the field and
 * the file, never what is in it. `selfUid` is for tests.
 */
export function checkSecretFile(file: string, field: string, selfUid = process.getuid?.()): void {
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(file)
  } catch (e) {
    throw new FenceError(
      'CONFIG_INVALID',
      `${field}: cannot read secret file ${file}: ${(e as NodeJS.ErrnoException).code}`,
    )
  }
  if (!st.isFile()) throw new FenceError('CONFIG_INVALID', `${field}: ${file} is not a regular file`)
  if ((st.mode & 0o077) !== 0)
    throw new FenceError(
      'SECRET_UNSAFE',
      `${field}: ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
    )
  if (selfUid !== undefined && st.uid !== selfUid && st.uid !== 0)
    throw new FenceError(
      'SECRET_UNSAFE',
      `${field}: ${file} is owned by uid ${st.uid}, not by this process's user (${selfUid}) or root; chown it`,
    )
}

/**
 * Secrets come from a file or the environment, never from the config text or the command
 * line. A file that its group or others can read, or that another user owns, is refused (as ssh
 * refuses a key). Values are never put in errors or logs: errors name the field and the file or
 * variable only.
 */
export function readSecret(ref: SecretRef, field: string): string {
  if (ref.file) {
    checkSecretFile(ref.file, field)
    const value = readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '')
    if (!value) throw new FenceError('CONFIG_INVALID', `${field}: secret file ${ref.file} is empty`)
    return value
  }
  if (ref.env) {
    const value = process.env[ref.env]
    if (!value)
      throw new FenceError('CONFIG_INVALID', `${field}: environment variable ${ref.env} is not set or empty`)
    return value
  }
  throw new FenceError(
    'CONFIG_INVALID',
    `${field}: no secret given (expected a file or an environment variable)`,
  )
}
