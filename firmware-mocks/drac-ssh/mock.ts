import { createECDH, createHash, createPrivateKey } from 'node:crypto'
import net from 'node:net'
import type ssh2 from 'ssh2'
import { type DracModelText, MODELS, parseServerAction } from '../../protocols/racadm.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { DeviceSimulator, garbleBytes } from '../simulator.js'
import { SshServer, hostKeyFingerprint, sameText } from '../ssh-server.js'
import type { DracSpec, DracUser } from './spec.js'

/** One command line the DRAC received, for tests. */
export interface DracRecord {
  at: number
  user: string
  line: string
  answer: string
  note?: string
}

const MAX_RECORDS = 2000
const MAX_LINE = 1024

/** A P-256 host key derived from a seed: the same seed, the same key (and fingerprint) on every start. */
export function derivedHostKey(seed: string): string {
  const d = createHash('sha256').update(`fencegate-lab-drac-ssh-host-key:${seed}`).digest()
  const ecdh = createECDH('prime256v1')
  ecdh.setPrivateKey(d)
  const pub = ecdh.getPublicKey()
  const b64 = (b: Buffer) => b.toString('base64url')
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    d: b64(d),
    x: b64(pub.subarray(1, 33)),
    y: b64(pub.subarray(33, 65)),
  }
  return createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'sec1', format: 'pem' }).toString()
}

/**
 * A Dell DRAC 5 or chassis CMC behind SSH (ssh2 server): password and public-key users, a
 * stable host key, the DRAC 5 or CMC banner and `$ ` prompt, and the racadm subset fencing
 * uses (`racadm serveraction powerstatus|powerup|powerdown|powercycle [-m server-N]`,
 * `getmodinfo`, `exit`), in an interactive shell (echoing when a pty was asked for, as
 * fence_drac5's ssh does) or as an exec request. Plugs: `system` (DRAC 5) or `server-N` (CMC).
 *
 * Faults, per command line: drop (no answer, no prompt), delay, garble (the answer's bytes),
 * stall (the session reads nothing more), disconnect (the connection is closed), lie (a power
 * command is answered as successful and not carried out).
 */
export class DracSshMock implements MockDevice {
  readonly kind = 'drac-ssh'
  sim: DeviceSimulator
  readonly records: DracRecord[] = []
  readonly hostKey: string
  readonly hostKeyFingerprint: string
  private readonly text: DracModelText
  private ssh: SshServer<DracUser> | undefined
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(
    readonly id: string,
    private readonly common: CommonLabSpec,
    readonly spec: DracSpec,
  ) {
    this.text = MODELS[spec.model]
    const plugs =
      spec.model === 'drac5'
        ? [{ id: 'system', name: 'system', state: common.initial }]
        : Array.from(
            { length: typeof common.plugs === 'number' ? common.plugs : common.plugs.length },
            (_, i) => ({
              id: `server-${i + 1}`,
              name: `SLOT-${String(i + 1).padStart(2, '0')}`,
              state: common.initial,
            }),
          )
    this.sim = new DeviceSimulator({ plugs, transitionDelayMs: common.transitionDelayMs })
    this.hostKey = derivedHostKey(spec.hostKeySeed ?? id)
    this.hostKeyFingerprint = hostKeyFingerprint(this.hostKey)
  }

  attach(devices: ReadonlyMap<string, MockDevice>): void {
    if (!this.spec.machineOf) return
    const other = devices.get(this.spec.machineOf)
    if (!other || other === this)
      throw new Error(`${this.id}: machineOf: no device '${this.spec.machineOf}' in the lab`)
    if (!other.sim.has('system'))
      throw new Error(
        `${this.id}: machineOf: '${this.spec.machineOf}' has no plug 'system' (a one-system redfish device)`,
      )
    this.sim.close()
    this.sim = other.sim
  }

  get host(): string {
    return this.common.listen?.host ?? '127.0.0.1'
  }

  get address(): { host: string; port: number } {
    return { host: this.host, port: this.ssh?.address.port ?? 0 }
  }

  get endpoint(): string {
    return `ssh://${net.isIPv6(this.host) ? `[${this.host}]` : this.host}:${this.address.port}`
  }

  info(): Record<string, unknown> {
    return {
      model: this.spec.model,
      hostKeyFingerprint: this.hostKeyFingerprint,
      users: this.spec.users.map((u) => ({ name: u.name, password: !!u.password, publicKey: !!u.publicKey })),
    }
  }

  async start(): Promise<void> {
    const ssh = new SshServer<DracUser>(
      this.hostKey,
      { host: this.host, port: this.common.listen?.port ?? 0 },
      {
        password: (name, password) =>
          this.spec.users.find(
            (u) => u.name === name && u.password !== undefined && sameText(password, u.password),
          ),
        publicKey: (name) => {
          const u = this.spec.users.find((x) => x.name === name && x.publicKey)
          return u ? { account: u, key: u.publicKey! } : undefined
        },
        shell: (ch, { user, pty, client }) => this.shell(ch, pty, user, client),
        exec: (ch, command, { user, client }) => {
          const answer = this.execute(command, user)
          if (answer === undefined || answer === 'stall') return // a fault: no answer
          if (answer === 'disconnect') return client.end()
          ch.write(`${answer.text}\r\n`)
          ch.exit(answer.error ? 1 : 0)
          ch.end()
        },
      },
      'OpenSSH_7.4',
      this.sim.sessions,
    )
    await ssh.start()
    this.ssh = ssh
  }

  private shell(ch: ssh2.ServerChannel, pty: boolean, user: DracUser, client: { end(): void }): void {
    const eol = '\r\n'
    ch.write(eol + this.text.banner + this.text.prompt)
    let buf = ''
    let stalled = false
    ch.on('data', (chunk: Buffer) => {
      if (stalled) return
      const s = chunk.toString('latin1')
      if (pty) ch.write(s.replace(/\r(?!\n)/g, '\r\n')) // a terminal echoes what is typed
      buf += s
      if (buf.length > MAX_LINE) {
        buf = ''
        ch.write(`${eol}ERROR: command line too long${eol}${this.text.prompt}`)
        return
      }
      let m = /\r\n|\r|\n/.exec(buf)
      while (m && !stalled) {
        const line = buf.slice(0, m.index)
        buf = buf.slice(m.index + m[0].length)
        if (/^\s*(exit|logout|quit)\s*$/.test(line)) {
          ch.end()
          return
        }
        if (!line.trim()) ch.write(this.text.prompt)
        else {
          const answer = this.execute(line, user)
          if (answer === 'disconnect') return client.end()
          if (answer === 'stall') stalled = true
          else if (answer !== undefined) {
            let out: Buffer = Buffer.from(`${answer.text}${eol}`, 'latin1')
            if (answer.garble) out = garbleBytes(out)
            const send = () => ch.writable && ch.write(Buffer.concat([out, Buffer.from(this.text.prompt)]))
            if (answer.delayMs > 0) {
              const t = setTimeout(() => {
                this.timers.delete(t)
                send()
              }, answer.delayMs)
              this.timers.add(t)
            } else send()
          }
        }
        m = /\r\n|\r|\n/.exec(buf)
      }
    })
    ch.on('error', () => {})
  }

  /** One command line; undefined = dropped (no answer). */
  private execute(
    line: string,
    user: DracUser,
  ): { text: string; error: boolean; garble: boolean; delayMs: number } | 'disconnect' | 'stall' | undefined {
    const d = this.sim.faults.decide()
    const rec = (answer: string, note?: string) => {
      this.records.push({
        at: Date.now(),
        user: user.name,
        line: line.trim(),
        answer,
        ...(note ? { note } : {}),
      })
      if (this.records.length > MAX_RECORDS) this.records.splice(0, this.records.length - MAX_RECORDS)
    }
    if (d.disconnect) {
      rec('', 'disconnect fault')
      return 'disconnect'
    }
    if (d.stall) {
      rec('', 'stall fault')
      return 'stall'
    }
    if (d.drop) {
      rec('', 'drop fault')
      return undefined
    }
    const { text, error } = this.answer(line.trim())
    rec(text)
    return { text, error, garble: d.garble, delayMs: d.delayMs }
  }

  private answer(line: string): { text: string; error: boolean } {
    const err = (text: string) => ({ text: `ERROR: ${text}`, error: true })
    if (/^(racadm\s+)?getmodinfo\s*$/.test(line)) {
      if (this.spec.model !== 'cmc') return err('Invalid subcommand specified.')
      const rows = [
        ['<module>', '<presence>', '<pwrState>', '<health>', '<svcTag>'],
        ['Chassis', 'Present', 'ON', 'OK', 'CMCTAG1'],
        ...[...this.sim.outlets.values()].map((o, i) => [
          o.id,
          'Present',
          o.state === 'on' ? 'ON' : 'OFF',
          'OK',
          `SVC${String(i + 1).padStart(4, '0')}`,
        ]),
      ]
      return {
        text: rows
          .map((r) =>
            r
              .map((c) => c.padEnd(16))
              .join('')
              .trimEnd(),
          )
          .join('\r\n'),
        error: false,
      }
    }
    const sa = parseServerAction(line)
    if (!sa) return err(`Invalid command: ${line.split(/\s+/)[0]!.slice(0, 40)}`)
    let plug: string
    if (this.spec.model === 'cmc') {
      if (sa.module === undefined) return err('The -m <module> option is required for this subcommand.')
      if (!this.sim.has(sa.module)) return err(`Invalid module: ${sa.module.slice(0, 40)}`)
      plug = sa.module
    } else {
      if (sa.module !== undefined) return err('Invalid option -m for this subcommand.')
      plug = 'system'
    }
    const o = this.sim.outlet(plug)
    const on = o.state === 'on'
    switch (sa.op) {
      case 'powerstatus': {
        const s =
          o.pending?.action === 'off' && on
            ? 'Powering OFF'
            : o.pending?.action === 'on' && !on
              ? 'Powering ON'
              : on
                ? 'ON'
                : 'OFF'
        return { text: this.text.status(s), error: false }
      }
      case 'powerup':
        if (on && o.pending?.action !== 'off') return err('Server is already powered ON.')
        this.sim.command(plug, 'on')
        return { text: 'Server power operation successful', error: false }
      case 'powerdown':
        if (!on && o.pending?.action !== 'on') return err('Server is already powered OFF.')
        this.sim.command(plug, 'off')
        return { text: 'Server power operation successful', error: false }
      case 'powercycle':
        if (!on) return err('Server is already powered OFF.')
        this.sim.command(plug, 'cycle')
        return { text: 'Server power operation successful', error: false }
      default:
        return err(`Invalid subcommand specified: ${sa.op.slice(0, 40)}`)
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.sim.close()
    const ssh = this.ssh
    this.ssh = undefined
    await ssh?.stop()
  }
}
