import { generateKeyPairSync, timingSafeEqual } from 'node:crypto'
// ssh2 is CommonJS: Node's ESM loader gives no named exports (vitest's transform hides that)
import ssh2 from 'ssh2'
import { sshFingerprint } from '../drivers/transport/ssh-stream.js'
import { PromptConnection, type PromptFirmware, type SessionSlots, type Terminal } from './prompt-server.js'
import type { DeviceSimulator } from './simulator.js'

const { Server, utils } = ssh2
type Server = ssh2.Server

/**
 * The SSH console of a prompt-driven unit (APC network cards with SSH): password
 * authentication at the SSH layer (the unit then shows its console without `User Name :`), a
 * pty and a shell, the same firmware and faults as on telnet, and the same session limit
 * (SessionSlots shared with the telnet server). The host key is made per instance; its
 * SHA-256 fingerprint is what a client pins.
 */
export class SshPromptServer {
  private server: Server | undefined
  private port = 0
  private readonly hostKey: string
  readonly fingerprint: string
  private readonly conns = new Set<{ end(): void }>()

  constructor(
    private readonly listen: { host: string; port: number },
    private readonly sim: DeviceSimulator,
    private readonly credentials: { user: string; password: string },
    private readonly slots: SessionSlots,
    /** The firmware, already past its login prompt (SSH authenticated the user). */
    private readonly makeFirmware: (t: Terminal) => PromptFirmware,
  ) {
    // Node's own key generator (PEM), not ssh2's: its ed25519 pairs now and then carry a public
    // key its own parser refuses ("Malformed OpenSSH public key"), which failed a mock's start
    this.hostKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ type: 'sec1', format: 'pem' })
      .toString()
    const parsed = utils.parseKey(this.hostKey)
    if (parsed instanceof Error) throw parsed
    this.fingerprint = sshFingerprint(parsed.getPublicSSH())
  }

  get address(): { host: string; port: number } {
    return { host: this.listen.host, port: this.port }
  }

  async start(): Promise<void> {
    const server = new Server({ hostKeys: [this.hostKey] }, (client) => {
      this.conns.add(client)
      client.on('error', () => {})
      client.on('close', () => this.conns.delete(client))
      client.on('authentication', (ctx) => {
        const ok =
          ctx.method === 'password' &&
          ctx.username === this.credentials.user &&
          same(ctx.password, this.credentials.password)
        if (ok) ctx.accept()
        else ctx.reject(['password'])
      })
      client.on('ready', () => {
        client.on('session', (accept) => {
          const session = accept()
          session.on('pty', (ok) => ok?.())
          session.on('window-change', (ok) => ok?.())
          session.on('env', (ok) => ok?.())
          session.on('shell', (ok) => {
            if (!this.slots.take()) {
              // the unit's one console session is taken: the shell is closed at once
              const ch = ok()
              ch.end()
              client.end()
              return
            }
            const release = this.slots.releaser()
            const ch = ok()
            const conn = new PromptConnection(
              this.sim,
              {
                write: (b) => {
                  if (!ch.destroyed) ch.write(b)
                },
                end: () => {
                  release()
                  ch.end()
                  client.end()
                },
              },
              this.makeFirmware,
            )
            ch.on('data', (b: Buffer) => conn.receive(b))
            ch.on('close', () => {
              release()
              conn.gone()
            })
          })
        })
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.listen.port, this.listen.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.port = (server.address() as { port: number }).port
    this.server = server
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.end()
    const server = this.server
    this.server = undefined
    if (server) await new Promise<void>((r) => server.close(() => r()))
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
