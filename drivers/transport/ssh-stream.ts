import { createHash, timingSafeEqual } from 'node:crypto'
// ssh2 is CommonJS: Node's ESM loader gives no named exports (vitest's transform hides that)
import ssh2, { type ClientChannel } from 'ssh2'

const { Client } = ssh2
type Client = ssh2.Client
import { untilAborted } from '../../core/deadline.js'
import { FenceError, abortError } from '../../core/errors.js'
import { type ByteStream, ReceiveBuffer } from './byte-stream.js'

/** The fingerprint OpenSSH prints for a host key blob: `SHA256:` and unpadded base64. */
export function sshFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

/** How to log in to a unit's SSH shell: where, who, with what, and which host key to accept. */
export interface SshLogin {
  host: string
  port: number
  /** For messages: `10.0.0.9:22`, or the device id and its address. */
  label: string
  user: string
  password?: string
  /** A private key (OpenSSH or PEM), and its passphrase when it is encrypted. */
  privateKey?: string
  passphrase?: string
  /** `SHA256:<base64>` as `ssh-keygen -lf` prints it, or `any` (written out in the config). */
  hostKey: string
  /** TCP connect, SSH handshake and authentication within this time, or the unit is unreachable. */
  timeoutMs: number
  /** The pseudo-terminal's size. */
  pty: { cols: number; rows: number }
  /** Keepalive requests on a connection kept open between calls. */
  keepaliveMs?: number
}

/**
 * Connect to a unit's SSH server and open an interactive shell on a pseudo-terminal, as an
 * interactive client would (the `ssh2` package). The host key is checked against the pinned
 * SHA-256 fingerprint before any credential is sent: a mismatch is INSECURE_DEVICE, a refused
 * login AUTH_REFUSED (both permanent); no route, no answer, no login in time DEVICE_UNREACHABLE.
 * Used by the SSH byte stream below (console units) and the DRAC's racadm session.
 */
export async function openSshShell(
  o: SshLogin,
  signal: AbortSignal,
): Promise<{ client: Client; channel: ClientChannel }> {
  if (signal.aborted) throw abortError(signal)
  const client = new Client()
  let hostKeyProblem: FenceError | undefined
  // errors after the login are the caller's (it listens); none may go unhandled
  client.on('error', () => {})
  const opened = new Promise<ClientChannel>((resolve, reject) => {
    client.once('error', (e: Error & { level?: string; code?: string }) =>
      reject(hostKeyProblem ?? loginFailure(e, o)),
    )
    client.once('close', () =>
      reject(
        hostKeyProblem ??
          new FenceError('CONNECTION_LOST', `${o.label}: ssh: the unit closed the connection during login`),
      ),
    )
    client.once('ready', () =>
      client.shell({ term: 'vt100', ...o.pty }, (err, ch) =>
        err
          ? reject(
              new FenceError('DEVICE_ERROR', `${o.label}: ssh: the unit refused a shell: ${err.message}`),
            )
          : resolve(ch),
      ),
    )
  })
  const cfg: ssh2.ConnectConfig = {
    host: o.host,
    port: o.port,
    username: o.user,
    readyTimeout: o.timeoutMs,
    tryKeyboard: false,
    hostVerifier: (key: Buffer) => {
      if (o.hostKey === 'any') return true
      const seen = sshFingerprint(key)
      const a = Buffer.from(seen)
      const b = Buffer.from(o.hostKey)
      if (a.length === b.length && timingSafeEqual(a, b)) return true
      hostKeyProblem = new FenceError(
        'INSECURE_DEVICE',
        `${o.label}: ssh: host key mismatch: the unit offers ${seen}, the config expects ${o.hostKey}; nothing was sent`,
      )
      return false
    },
  }
  if (o.keepaliveMs !== undefined) cfg.keepaliveInterval = o.keepaliveMs
  if (o.password !== undefined) cfg.password = o.password
  if (o.privateKey !== undefined) cfg.privateKey = o.privateKey
  if (o.passphrase !== undefined) cfg.passphrase = o.passphrase
  try {
    client.connect(cfg)
  } catch (e) {
    // ssh2 throws synchronously on options it cannot use (an unreadable key): never echo them
    throw new FenceError(
      'CONFIG_INVALID',
      `${o.label}: SSH client refused its options: ${(e as Error).message.slice(0, 80)}`,
    )
  }
  try {
    return { client, channel: await untilAborted(opened, signal) }
  } catch (e) {
    client.end()
    client.destroy()
    throw e
  }
}

function loginFailure(e: Error & { level?: string; code?: string }, o: SshLogin): FenceError {
  if (e.level === 'client-authentication')
    return new FenceError('AUTH_REFUSED', `${o.label}: ssh: the unit refused user ${o.user} (${e.message})`)
  if (e.level === 'client-timeout')
    return new FenceError('DEVICE_UNREACHABLE', `${o.label}: ssh: no login within ${o.timeoutMs} ms`)
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ETIMEDOUT'].includes(e.code ?? ''))
    return new FenceError('DEVICE_UNREACHABLE', `${o.label}: ssh: ${e.message}`)
  return new FenceError('CONNECTION_LOST', `${o.label}: ssh: ${e.message}`)
}

export interface SshStreamOptions {
  host: string
  port: number
  user: string
  /** Read at each connect, never stored in the options. */
  password: () => string
  /** `SHA256:<base64>` as `ssh-keygen -lf` prints it, or `any` (written out in the config). */
  hostKey: string
  connectTimeoutMs: number
}

/**
 * An interactive shell on a network console over SSH (openSshShell), as a byte stream for the
 * expect engine.
 */
export class SshStream implements ByteStream {
  readonly transport = 'ssh' as const
  readonly label: string
  readonly rx = new ReceiveBuffer()
  private client: Client | undefined
  private channel: ClientChannel | undefined

  constructor(private readonly opts: SshStreamOptions) {
    this.label = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`
  }

  get isOpen(): boolean {
    return !!this.channel && !this.channel.destroyed
  }

  async open(signal: AbortSignal): Promise<void> {
    if (this.isOpen) return
    const { client, channel } = await openSshShell(
      {
        host: this.opts.host,
        port: this.opts.port,
        label: this.label,
        user: this.opts.user,
        password: this.opts.password(),
        hostKey: this.opts.hostKey,
        timeoutMs: this.opts.connectTimeoutMs,
        pty: { cols: 80, rows: 24 },
      },
      signal,
    )
    this.rx.reopen()
    channel.on('data', (b: Buffer) => this.rx.push(b))
    channel.stderr.on('data', (b: Buffer) => this.rx.push(b))
    channel.on('close', () => {
      if (this.channel !== channel) return
      this.channel = undefined
      this.rx.close(new FenceError('CONNECTION_LOST', `${this.label}: the unit closed the ssh session`))
      client.end()
    })
    this.client = client
    this.channel = channel
  }

  async write(bytes: Buffer, signal: AbortSignal): Promise<void> {
    const ch = this.channel
    if (!ch || ch.destroyed) throw new FenceError('CONNECTION_LOST', `${this.label}: not connected`)
    if (signal.aborted) throw abortError(signal)
    await untilAborted(
      new Promise<void>((resolve, reject) =>
        ch.write(bytes, (e?: Error | null) =>
          e
            ? reject(new FenceError('CONNECTION_LOST', `${this.label}: write failed: ${e.message}`))
            : resolve(),
        ),
      ),
      signal,
    )
  }

  async close(): Promise<void> {
    const ch = this.channel
    const client = this.client
    this.channel = undefined
    this.client = undefined
    ch?.destroy()
    client?.end()
    client?.destroy()
    if (ch) this.rx.close(new FenceError('CONNECTION_LOST', `${this.label}: closed`))
  }
}
