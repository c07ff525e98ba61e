import { createHmac, timingSafeEqual } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { FenceError } from '../../core/errors.js'

/**
 * heartbeat's authkeys: `auth N` picks the method we sign with; `N method [key]` lines list the
 * methods we accept (N = 0–15). sha1 and md5 are HMACs (RFC 2104) as heartbeat's plugins compute
 * them; crc is a plain CRC-32 with no key at all — anyone on the wire can forge it, so it is
 * refused unless the config says `allowCrc: true`. `hmac-sha256` is fencegate's own method for
 * clusters without heartbeat 3 nodes (heartbeat would not load an authkeys file naming it).
 */
export type AuthMethod = 'sha1' | 'md5' | 'crc' | 'hmac-sha256'
export const AUTH_METHODS: readonly AuthMethod[] = ['sha1', 'md5', 'crc', 'hmac-sha256']

export interface AuthKey {
  method: AuthMethod
  key: Buffer
}

export interface AuthKeys {
  /** The index we sign with (`auth N`). */
  sendIndex: number
  keys: Map<number, AuthKey>
}

const HMAC_ALGO: Record<Exclude<AuthMethod, 'crc'>, string> = {
  sha1: 'sha1',
  md5: 'md5',
  'hmac-sha256': 'sha256',
}

/** Parse authkeys text. Errors name the line; they never quote a key. */
export function parseAuthKeys(text: string, source = 'authkeys'): AuthKeys {
  let sendIndex: number | undefined
  const keys = new Map<number, AuthKey>()
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim()
    if (!line) return
    const words = line.split(/\s+/)
    const where = `${source}:${i + 1}`
    if (words[0] === 'auth') {
      if (words.length !== 2 || !/^\d{1,2}$/.test(words[1]!))
        throw authError(`${where}: expected 'auth N' with N from 0 to 15`)
      sendIndex = Number(words[1])
      return
    }
    if (!/^\d{1,2}$/.test(words[0]!) || Number(words[0]) > 15)
      throw authError(`${where}: expected 'auth N' or 'N method key' with N from 0 to 15`)
    const n = Number(words[0])
    const method = words[1] as AuthMethod
    if (!AUTH_METHODS.includes(method))
      throw authError(`${where}: unknown method '${words[1] ?? ''}' (expected ${AUTH_METHODS.join(', ')})`)
    // heartbeat reads the key with sscanf %s: one word
    const key = words[2]
    if (method !== 'crc' && !key) throw authError(`${where}: method ${method} needs a key`)
    if (words.length > 3) throw authError(`${where}: a key is one word (no spaces)`)
    if (keys.has(n)) throw authError(`${where}: index ${n} given twice`)
    keys.set(n, { method, key: Buffer.from(key ?? '', 'utf8') })
  })
  if (sendIndex === undefined) throw authError(`${source}: no 'auth N' line`)
  if (sendIndex > 15 || !keys.has(sendIndex))
    throw authError(`${source}: 'auth ${sendIndex}' names no key line`)
  return { sendIndex, keys }
}

/**
 * Read the key file. Like heartbeat (and ssh) we refuse one that group or others can read or
 * write, or that someone else owns: the key is the whole of the cluster's protection.
 */
export function readAuthKeys(file: string): AuthKeys {
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(file)
  } catch (e) {
    throw authError(`authKeyFile: cannot read ${file}: ${(e as NodeJS.ErrnoException).code}`)
  }
  if (!st.isFile()) throw authError(`authKeyFile: ${file} is not a regular file`)
  if ((st.mode & 0o077) !== 0)
    throw new FenceError(
      'SECRET_UNSAFE',
      `authKeyFile: ${file} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
    )
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid && st.uid !== 0)
    throw new FenceError('SECRET_UNSAFE', `authKeyFile: ${file} is owned by uid ${st.uid}, not by us or root`)
  return parseAuthKeys(readFileSync(file, 'utf8'), file)
}

function authError(message: string): FenceError {
  return new FenceError('CONFIG_INVALID', message)
}

/** The digest as heartbeat prints it: lowercase hex; crc as `%lx` (no zero padding). */
export function digest(method: AuthMethod, key: Buffer, data: Buffer): string {
  if (method === 'crc') return crc32Posix(data).toString(16)
  return createHmac(HMAC_ALGO[method], key).update(data).digest('hex')
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i << 24
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1
    t[i] = c >>> 0
  }
  return t
})()

/** CRC-32, poly 0x04C11DB7, MSB first, init 0, xorout 0xFFFFFFFF, no length suffix (heartbeat's crc.so). */
export function crc32Posix(data: Buffer): number {
  let crc = 0
  for (const b of data) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0
  return (crc ^ 0xffffffff) >>> 0
}

export type VerifyResult = 'ok' | 'missing' | 'bad-format' | 'unknown-index' | 'refused-method' | 'mismatch'

export class Authenticator {
  readonly method: AuthMethod

  constructor(
    private readonly keys: AuthKeys,
    private readonly opts: { allowCrc: boolean },
  ) {
    const send = keys.keys.get(keys.sendIndex)!
    if (send.method === 'crc' && !opts.allowCrc)
      throw authError(
        'authKeyFile: the crc method is no protection (anyone can forge it); use sha1, or set allowCrc: true',
      )
    this.method = send.method
  }

  /** `<authnum> <hexdigest>` over data, with the `auth N` key. */
  sign = (data: Buffer): string => {
    const k = this.keys.keys.get(this.keys.sendIndex)!
    return `${this.keys.sendIndex} ${digest(k.method, k.key, data)}`
  }

  verify(auth: string | undefined, data: Buffer): VerifyResult {
    if (auth === undefined) return 'missing'
    const m = /^(\d{1,2}) ([0-9a-fA-F]{1,128})$/.exec(auth)
    if (!m) return 'bad-format'
    const k = this.keys.keys.get(Number(m[1]))
    if (!k) return 'unknown-index'
    if (k.method === 'crc' && !this.opts.allowCrc) return 'refused-method'
    const want = Buffer.from(digest(k.method, k.key, data), 'latin1')
    const got = Buffer.from(m[2]!.toLowerCase(), 'latin1')
    return want.length === got.length && timingSafeEqual(want, got) ? 'ok' : 'mismatch'
  }
}
