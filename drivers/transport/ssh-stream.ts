import { createHash } from 'node:crypto'
// ssh2 is CommonJS: Node's ESM loader gives no named exports (vitest's transform hides that)
import ssh2, { type ClientChannel } from 'ssh2'

const { Client } = ssh2
type Client = ssh2.Client
import { FenceError, abortError } from '../../src/core/errors.js'
import { untilAborted } from '../../src/core/deadline.js'
import { type ByteStream, ReceiveBuffer } from './byte-stream.js'

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

/** The fingerprint OpenSSH prints for a host key blob: `SHA256:` and unpadded base64. */
export function sshFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

/**
 * An interactive shell on a network console over SSH (the `ssh2` package), as a byte stream for
 * the expect engine. The unit's host key is checked against the configured SHA-256 fingerprint
 * before any password is sent: a mismatch is a permanent error (INSECURE_DEVICE), as is a refused
 * password (AUTH_REFUSED). A pseudo-terminal is asked for, as an interactive client would.
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
    if (signal.aborted) throw abortError(signal)
    const client = new Client()
    let seen = ''
    const opened = new Promise<ClientChannel>((resolve, reject) => {
      client.on('error', (e: Error & { level?: string }) => {
        if (seen && this.opts.hostKey !== 'any' && seen !== this.opts.hostKey)
          reject(
            new FenceError(
              'INSECURE_DEVICE',
              `${this.label}: ssh: the unit's host key is ${seen}, not the configured ${this.opts.hostKey}: refusing to send the password`,
            ),
          )
        else if (e.level === 'client-authentication')
          reject(new FenceError('AUTH_REFUSED', `${this.label}: ssh: the unit refused the user or password`))
        else if (e.level === 'client-timeout')
          reject(
            new FenceError(
              'DEVICE_UNREACHABLE',
              `${this.label}: ssh: no handshake within ${this.opts.connectTimeoutMs}ms`,
            ),
          )
        else reject(new FenceError('DEVICE_UNREACHABLE', `${this.label}: ssh: ${e.message}`))
      })
      client.on('ready', () => {
        client.shell({ term: 'vt100', cols: 80, rows: 24 }, (err, ch) => {
          if (err)
            reject(
              new FenceError('DEVICE_ERROR', `${this.label}: ssh: the unit refused a shell: ${err.message}`),
            )
          else resolve(ch)
        })
      })
      client.on('close', () =>
        reject(
          new FenceError(
            'CONNECTION_LOST',
            `${this.label}: ssh: the unit closed the connection during login`,
          ),
        ),
      )
      client.connect({
        host: this.opts.host,
        port: this.opts.port,
        username: this.opts.user,
        password: this.opts.password(),
        readyTimeout: this.opts.connectTimeoutMs,
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          seen = sshFingerprint(key)
          return this.opts.hostKey === 'any' || seen === this.opts.hostKey
        },
      })
    })
    let channel: ClientChannel
    try {
      channel = await untilAborted(opened, signal)
    } catch (e) {
      client.end()
      client.destroy()
      throw e
    }
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
