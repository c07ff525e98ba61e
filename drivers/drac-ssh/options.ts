/**
 * The drac-ssh driver's options: every field it reads, in one place (to be ported to a
 * declarative schema later). Docs: docs/drivers/drac-ssh.md.
 */
import { Fields } from '../../src/config/fields.js'
import type { FieldProblem, SecretRef } from '../driver.js'

export interface DracSshConfig {
  host: string
  port: number
  user: string
  /** Password authentication (passwordFile / passwordEnv)… */
  password?: SecretRef
  /** …or a private key (keyFile, mode 600; keyEnv). */
  key?: SecretRef
  /** The passphrase of an encrypted key. */
  keyPassphrase?: SecretRef
  /** `SHA256:…` as `ssh-keygen -lf` prints it, or `any` (written out, warned about). */
  hostKey: string
  /** `drac5` (one plug, `system`), `cmc` (`server-N` plugs), or `auto` (from the banner, as fence_drac5). */
  model: 'auto' | 'drac5' | 'cmc'
  /** The shell prompt (a regular expression matched at the end of the output). */
  prompt: string
  /** TCP connect + SSH handshake + login + first prompt within this time, or the DRAC is unreachable. */
  loginTimeoutMs: number
  /** How long one racadm command may take to answer (DRACs are slow: fence_drac5 waits 20 s). */
  commandTimeoutMs: number
  /** May an operator's cycle use `racadm serveraction powercycle` (never a fence)? */
  deviceCycle: boolean
}

export function readDracSshConfig(section: Record<string, unknown>): {
  config: DracSshConfig
  problems: FieldProblem[]
} {
  const f = new Fields(section)
  const problems: FieldProblem[] = []
  const host = f.str('host', { pattern: /^[A-Za-z0-9.:_[\]-]+$/, hint: 'a host name or address' })
  const port = f.int('port', { default: 22, min: 1, max: 65535 })
  const user = f.str('user', { hint: 'the DRAC user name' })
  const password = f.secret('password', { required: false })
  const key = f.secret('key', { required: false })
  const keyPassphrase = f.secret('keyPassphrase', { required: false })
  if (!password && !key)
    problems.push({ path: ['passwordFile'], message: 'required: passwordFile/passwordEnv or keyFile/keyEnv' })
  const hostKey = f.str('hostKey', {
    hint: "the host key's SHA-256 fingerprint (SHA256:… from ssh-keygen -lf), or any",
  })
  if (f.has('hostKey') && hostKey !== 'any' && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(hostKey))
    problems.push({
      path: ['hostKey'],
      message: `expected SHA256: and 43 base64 characters (ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub), or any; got '${hostKey}'`,
    })
  const prompt = f.str('prompt', { default: '\\$ ?$' })
  try {
    new RegExp(prompt)
  } catch {
    problems.push({ path: ['prompt'], message: 'not a valid regular expression' })
  }
  const config: DracSshConfig = {
    host,
    port,
    user,
    hostKey: hostKey.replace(/=$/, ''),
    model: f.oneOf('model', ['auto', 'drac5', 'cmc'] as const, 'auto'),
    prompt,
    loginTimeoutMs: f.duration('loginTimeout', 5000, { min: 50, max: 600_000 }),
    commandTimeoutMs: f.duration('commandTimeout', 20_000, { min: 50, max: 600_000 }),
    deviceCycle: f.bool('deviceCycle', false),
  }
  if (password) config.password = password
  if (key) config.key = key
  if (keyPassphrase) config.keyPassphrase = keyPassphrase
  f.noOthers()
  return { config, problems: [...f.problems, ...problems] }
}
