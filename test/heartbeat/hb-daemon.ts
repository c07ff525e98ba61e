import { execFileSync, spawnSync } from 'node:child_process'
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { sleep } from './netns.js'

/**
 * A real Linux-HA heartbeat 3.0.6 daemon (Debian package `heartbeat`) inside a network
 * namespace. heartbeat reads /etc/ha.d, keeps state in /var/lib/heartbeat and its pid file in
 * /run, and names itself after `uname -n`; so it runs in a private mount and UTS namespace where
 * those paths are bind-mounted from a test directory and the hostname is set. Nothing of the
 * host's heartbeat setup is touched.
 */
export const HEARTBEAT_BIN = '/usr/libexec/heartbeat/heartbeat'

export interface HbOptions {
  ns: string
  dir: string
  hostname: string
  /** ha.cf lines for the media and nodes (keepalive etc. are set here). */
  media: string[]
  nodes: string[]
  authkeys: string
  deadtime?: string
}

export class HbDaemon {
  readonly log: string

  constructor(readonly o: HbOptions) {
    this.log = `${o.dir}/log/ha-log`
  }

  private write(): void {
    const { dir } = this.o
    rmSync(`${dir}/etc`, { recursive: true, force: true })
    for (const d of ['etc', 'lib/cores', 'run/heartbeat', 'run/lock', 'log'])
      mkdirSync(`${dir}/${d}`, { recursive: true })
    // the resource scripts and helpers heartbeat expects beside its config
    cpSync('/etc/ha.d', `${dir}/etc`, { recursive: true })
    const uid = Number(execFileSync('id', ['-u', 'hacluster']).toString())
    const gid = Number(execFileSync('id', ['-g', 'hacluster']).toString())
    chownSync(`${dir}/run/heartbeat`, uid, gid)
    writeFileSync(
      `${dir}/etc/ha.cf`,
      [
        `logfile ${this.log}`,
        'keepalive 200ms',
        `deadtime ${this.o.deadtime ?? '1'}`,
        'warntime 500ms',
        'initdead 12',
        'udpport 694',
        'baud 115200',
        ...this.o.media,
        ...this.o.nodes.map((n) => `node ${n}`),
        'crm no',
        'auto_failback on',
        '',
      ].join('\n'),
    )
    writeFileSync(`${dir}/etc/authkeys`, this.o.authkeys, { mode: 0o600 })
    writeFileSync(`${dir}/etc/haresources`, '')
    writeFileSync(
      `${dir}/start.sh`,
      [
        '#!/bin/sh',
        'set -e',
        `mount --bind ${dir}/etc /etc/ha.d`,
        `mount --bind ${dir}/lib /var/lib/heartbeat`,
        `mount --bind ${dir}/run /run`,
        `hostname ${this.o.hostname}`,
        `exec ${HEARTBEAT_BIN}`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    )
  }

  /** Start (heartbeat daemonizes); resolves once its pid file is there. */
  async start(): Promise<void> {
    this.write()
    rmSync(`${this.o.dir}/run/heartbeat.pid`, { force: true })
    const r = spawnSync('ip', ['netns', 'exec', this.o.ns, 'unshare', '-m', '-u', `${this.o.dir}/start.sh`], {
      stdio: 'pipe',
      timeout: 20_000,
    })
    if (r.status !== 0)
      throw new Error(`heartbeat did not start: ${r.stderr}\n${this.logText().slice(-2000)}`)
    for (let i = 0; i < 100 && !this.pid(); i++) await sleep(50)
    if (!this.pid()) throw new Error(`heartbeat wrote no pid file:\n${this.logText().slice(-2000)}`)
  }

  pid(): number | undefined {
    try {
      const pid = Number(readFileSync(`${this.o.dir}/run/heartbeat.pid`, 'utf8').trim())
      return pid && existsSync(`/proc/${pid}`) ? pid : undefined
    } catch {
      return undefined
    }
  }

  /** Every process of this heartbeat (master control, FIFO, read and write children). */
  private processes(): number[] {
    const master = this.pid()
    if (!master) return []
    const kids = spawnSync('pgrep', ['-P', String(master)])
      .stdout.toString()
      .split('\n')
      .filter(Boolean)
      .map(Number)
    return [master, ...kids]
  }

  logText(): string {
    try {
      return readFileSync(this.log, 'utf8')
    } catch {
      return ''
    }
  }

  /** Wait until heartbeat's log (from `from` on) matches. */
  async untilLog(re: RegExp, from = 0, timeoutMs = 20_000): Promise<string> {
    const end = Date.now() + timeoutMs
    for (;;) {
      const m = re.exec(this.logText().slice(from))
      if (m) return m[0]
      if (Date.now() > end)
        throw new Error(`heartbeat log never matched ${re}; tail:\n${this.logText().slice(-3000)}`)
      await sleep(100)
    }
  }

  /** Clean stop (SIGTERM: heartbeat sends its shutdown notice). */
  async stop(): Promise<void> {
    const pid = this.pid()
    if (!pid) return
    process.kill(pid, 'SIGTERM')
    for (let i = 0; i < 200 && this.pid(); i++) await sleep(50)
    this.kill()
  }

  /** Power cut: SIGKILL every heartbeat process, no goodbye. */
  kill(): void {
    for (const p of this.processes())
      try {
        process.kill(p, 'SIGKILL')
      } catch {}
    rmSync(`${this.o.dir}/run/heartbeat.pid`, { force: true })
  }
}
