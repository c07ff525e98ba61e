import { generateKeyPairSync, timingSafeEqual } from 'node:crypto'
import type net from 'node:net'
// ssh2 is CommonJS: Node's ESM loader gives no named exports (vitest's transform hides that)
import ssh2 from 'ssh2'
import { sshFingerprint } from '../drivers/transport/ssh-stream.js'
import { PromptConnection, type PromptFirmware, type SessionSlots, type Terminal } from './prompt-server.js'
import type { DeviceSimulator, SessionCounter } from './simulator.js'

const { Server, utils } = ssh2
type Server = ssh2.Server

/** A fresh host key (PEM). */
export function newHostKey(): string {
  // Node's own key generator, not ssh2's: its ed25519 pairs now and then carry a public key
  // its own parser refuses ("Malformed OpenSSH public key"), which failed a mock's start
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    .privateKey.export({ type: 'sec1', format: 'pem' })
    .toString()
}

/** The SHA-256 fingerprint of a host key (PEM), as a client pins it. */
export function hostKeyFingerprint(pem: string): string {
  const parsed = utils.parseKey(pem)
  if (parsed instanceof Error) throw parsed
  return sshFingerprint(parsed.getPublicSSH())
}

/** What a unit's SSH server does with a logged-in user `U`. */
export interface SshServerHandlers<U> {
  /** The account a user name and password log in to; undefined: refused. */
  password(user: string, password: string): U | undefined
  /** The account with this user name and its authorized key (one OpenSSH line), for key logins. */
  publicKey?(user: string): { account: U; key: string } | undefined
  /** An interactive shell: `pty` says whether the client asked for a terminal (which echoes). */
  shell(ch: ssh2.ServerChannel, s: { user: U; pty: boolean; client: ssh2.Connection }): void
  /** A command run without a shell (`ssh host command`); absent: refused. */
  exec?(ch: ssh2.ServerChannel, command: string, s: { user: U; client: ssh2.Connection }): void
}

/**
 * The SSH server of a lab unit (ssh2): a host key whose SHA-256 fingerprint is what a client
 * pins, password and public-key logins checked by the unit's handlers, a session with a
 * terminal, a shell or an exec request handed to them; on a TCP port, every client ended at
 * stop. The APC console (SshPromptServer below) and the DRAC's racadm run on it.
 */
export class SshServer<U> {
  private server: Server | undefined
  private port = 0
  readonly fingerprint: string
  private readonly clients = new Set<{ end(): void }>()

  constructor(
    private readonly hostKey: string,
    private readonly listen: { host: string; port: number },
    private readonly handlers: SshServerHandlers<U>,
    /** The identification string (`OpenSSH_7.4`); ssh2's own when absent. */
    private readonly ident?: string,
    /**
     * Where client sessions are counted (the unit's DeviceSimulator.sessions): one session is an
     * authenticated SSH connection, from `ready` to its close, whatever channels it opens.
     */
    private readonly counter?: SessionCounter,
  ) {
    this.fingerprint = hostKeyFingerprint(hostKey)
  }

  get address(): { host: string; port: number } {
    return { host: this.listen.host, port: this.port }
  }

  async start(): Promise<void> {
    const h = this.handlers
    const config = { hostKeys: [this.hostKey], ...(this.ident ? { ident: this.ident } : {}) }
    const server = new Server(config, (client) => {
      this.clients.add(client)
      client.on('error', () => {})
      client.on('close', () => this.clients.delete(client))
      let user: U | undefined
      client.on('authentication', (ctx) => {
        if (ctx.method === 'password') {
          user = h.password(ctx.username, ctx.password)
          if (user !== undefined) return ctx.accept()
        }
        const allowed = ctx.method === 'publickey' ? h.publicKey?.(ctx.username) : undefined
        if (ctx.method === 'publickey' && allowed) {
          const key = utils.parseKey(allowed.key)
          if (
            !(key instanceof Error) &&
            ctx.key.algo === key.type &&
            same(ctx.key.data, key.getPublicSSH())
          ) {
            if (!ctx.signature) return ctx.accept() // the client asks whether this key would do
            if (key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) {
              user = allowed.account
              return ctx.accept()
            }
          }
        }
        ctx.reject(h.publicKey ? ['password', 'publickey'] : ['password'])
      })
      client.on('ready', () => {
        if (this.counter) client.once('close', this.counter.begin())
        client.on('session', (accept) => {
          const session = accept()
          let pty = false
          session.on('pty', (ok) => {
            pty = true
            ok?.()
          })
          session.on('window-change', (ok) => ok?.())
          session.on('env', (ok) => ok?.())
          session.on('shell', (ok) => h.shell(ok(), { user: user!, pty, client }))
          session.on('exec', (ok, reject, info) =>
            h.exec ? h.exec(ok(), info.command, { user: user!, client }) : reject?.(),
          )
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
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.end()
    const server = this.server
    this.server = undefined
    if (server) await new Promise<void>((r) => server.close(() => r()))
  }
}

/**
 * The SSH console of a prompt-driven unit (APC network cards with SSH): password
 * authentication at the SSH layer (the unit then shows its console without `User Name :`), a
 * pty and a shell, the same firmware and faults as on telnet, and the same session limit
 * (SessionSlots shared with the telnet server). The host key is made per instance; its
 * SHA-256 fingerprint is what a client pins.
 */
export class SshPromptServer {
  private readonly ssh: SshServer<string>

  constructor(
    listen: { host: string; port: number },
    sim: DeviceSimulator,
    credentials: { user: string; password: string },
    slots: SessionSlots,
    /** The firmware, already past its login prompt (SSH authenticated the user). */
    makeFirmware: (t: Terminal) => PromptFirmware,
  ) {
    this.ssh = new SshServer<string>(
      newHostKey(),
      listen,
      {
        password: (user, password) =>
          user === credentials.user && sameText(password, credentials.password) ? user : undefined,
        shell(ch, { client }) {
          if (!slots.take()) {
            // the unit's one console session is taken: the shell is closed at once
            ch.end()
            client.end()
            return
          }
          const release = slots.releaser()
          const conn = new PromptConnection(
            sim,
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
            makeFirmware,
          )
          ch.on('data', (b: Buffer) => conn.receive(b))
          ch.on('close', () => {
            release()
            conn.gone()
          })
        },
      },
      undefined,
      sim.sessions,
    )
  }

  get fingerprint(): string {
    return this.ssh.fingerprint
  }

  get address(): { host: string; port: number } {
    return this.ssh.address
  }

  start(): Promise<void> {
    return this.ssh.start()
  }

  stop(): Promise<void> {
    return this.ssh.stop()
  }
}

function same(x: Buffer, y: Buffer): boolean {
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Compare a password in constant time. */
export function sameText(a: string, b: string): boolean {
  return same(Buffer.from(a), Buffer.from(b))
}
