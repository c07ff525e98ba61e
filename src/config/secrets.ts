import { readFileSync, statSync } from 'node:fs'
import type { SecretRef } from '../../drivers/driver.js'
import { FenceError } from '../core/errors.js'

/**
 * Secrets come from a file or the environment, never from the config text or the command
 * line. A file that its group or others can read is refused (as ssh refuses a key). Values are
 * never put in errors or logs: errors name the field and the file or variable only.
 */
export function readSecret(ref: SecretRef, field: string): string {
  if (ref.file) {
    let st: ReturnType<typeof statSync>
    try {
      st = statSync(ref.file)
    } catch (e) {
      throw new FenceError(
        'CONFIG_INVALID',
        `${field}: cannot read secret file ${ref.file}: ${(e as NodeJS.ErrnoException).code}`,
      )
    }
    if (!st.isFile()) throw new FenceError('CONFIG_INVALID', `${field}: ${ref.file} is not a regular file`)
    if ((st.mode & 0o077) !== 0)
      throw new FenceError(
        'SECRET_UNSAFE',
        `${field}: secret file ${ref.file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
      )
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
