import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { HeartbeatConfig, LinkConfig, PingSettings } from '../../src/heartbeat/config.js'
import type { HeartbeatEvent, HeartbeatSnapshot } from '../../src/heartbeat/protocol.js'
import { memberMain } from './build.js'
import type { MemberSpec } from './member-main.js'

/**
 * A cluster on one machine, with real links: one network namespace per node plus a "switch"
 * namespace holding two bridges (net m: multicast, net u: unicast); each node has a veth into
 * each bridge. Serial links are socat pty pairs between node pairs. Cutting a link = setting the
 * switch side of a veth down (a pulled cable) or killing the socat of a pty pair.
 *
 * Names: namespaces `fghb<co><tag><i>` (i = 0 for the switch), switch ports
 * `fghb<co><tag><i><m|u>`, inside a node `fghbm` and `fghbu`; addresses 10.231.<base>.<i> (net m)
 * and 10.231.<base+1>.<i>. `<co>` is 3 hex digits of this checkout's path: namespaces are the
 * machine's, and two work trees running the same test at once must not tear down each other's.
 */
const CHECKOUT = createHash('sha256')
  .update(fileURLToPath(new URL('../..', import.meta.url)))
  .digest('hex')
  .slice(0, 3)
export const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' }).toString()
const tryRun = (cmd: string, args: string[]) => {
  try {
    run(cmd, args)
  } catch {}
}

export class NetLab {
  readonly dir: string
  private readonly socats = new Map<string, ChildProcess>()

  constructor(
    readonly tag: string,
    readonly size: number,
    /** Third octet of net m; net u is base + 1. */
    readonly base: number,
  ) {
    this.dir = `/tmp/fghb-${CHECKOUT}-${tag}`
  }

  ns(i: number): string {
    return `fghb${CHECKOUT}${this.tag}${i}`
  }

  ip(i: number, net: 'm' | 'u'): string {
    return `10.231.${net === 'm' ? this.base : this.base + 1}.${i}`
  }

  up(): void {
    this.down()
    mkdirSync(this.dir, { recursive: true })
    const sw = this.ns(0)
    run('ip', ['netns', 'add', sw])
    run('ip', ['-n', sw, 'link', 'set', 'lo', 'up'])
    for (const net of ['m', 'u'] as const) {
      run('ip', ['-n', sw, 'link', 'add', `fghbbr${net}`, 'type', 'bridge'])
      run('ip', ['-n', sw, 'link', 'set', `fghbbr${net}`, 'up'])
    }
    for (let i = 1; i <= this.size; i++) {
      const ns = this.ns(i)
      run('ip', ['netns', 'add', ns])
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
      for (const net of ['m', 'u'] as const) {
        const port = `${ns}${net}`
        run('ip', [
          'link',
          'add',
          port,
          'netns',
          sw,
          'type',
          'veth',
          'peer',
          'name',
          `fghb${net}`,
          'netns',
          ns,
        ])
        run('ip', ['-n', sw, 'link', 'set', port, 'master', `fghbbr${net}`])
        run('ip', ['-n', sw, 'link', 'set', port, 'up'])
        run('ip', ['-n', ns, 'addr', 'add', `${this.ip(i, net)}/24`, 'dev', `fghb${net}`])
        run('ip', ['-n', ns, 'link', 'set', `fghb${net}`, 'up'])
      }
    }
  }

  down(): void {
    for (const s of this.socats.values()) s.kill('SIGKILL')
    this.socats.clear()
    for (let i = 0; i <= this.size; i++) {
      // whatever still runs in our namespaces (a daemon that forked away, a stuck child) is ours
      let pids: string[] = []
      try {
        pids = run('ip', ['netns', 'pids', this.ns(i)])
          .split('\n')
          .filter(Boolean)
      } catch {}
      for (const p of pids) tryRun('kill', ['-9', p])
      tryRun('ip', ['netns', 'del', this.ns(i)])
    }
    rmSync(this.dir, { recursive: true, force: true })
  }

  /**
   * Make the switch namespace a "router" on net m: it holds `routerIp()` on that bridge and
   * answers pings there, so net m is every node's uplink to a ping node (the ping-node tests run
   * the heartbeat on net u only: cutting net m cuts a node's uplink, net u its heartbeat).
   */
  addRouter(): string {
    run('ip', ['-n', this.ns(0), 'addr', 'add', `${this.routerIp()}/24`, 'dev', 'fghbbrm'])
    return this.routerIp()
  }

  routerIp(): string {
    return `10.231.${this.base}.254`
  }

  /** Pull (or plug back) node i's cable into net m or u. */
  cable(i: number, net: 'm' | 'u', up: boolean): void {
    run('ip', ['-n', this.ns(0), 'link', 'set', `${this.ns(i)}${net}`, up ? 'up' : 'down'])
  }

  ptyPath(a: number, b: number): string {
    return `${this.dir}/pty-${Math.min(a, b)}${Math.max(a, b)}-${a}`
  }

  /** A null-modem cable between nodes a and b (a socat pty pair). */
  async serial(a: number, b: number): Promise<void> {
    const key = `${Math.min(a, b)}${Math.max(a, b)}`
    this.socats.get(key)?.kill('SIGKILL')
    const pa = this.ptyPath(a, b)
    const pb = this.ptyPath(b, a)
    const p = spawn('socat', [`pty,raw,echo=0,link=${pa}`, `pty,raw,echo=0,link=${pb}`], { stdio: 'ignore' })
    this.socats.set(key, p)
    for (let i = 0; i < 100 && !(existsSync(pa) && existsSync(pb)); i++) await sleep(20)
  }

  cutSerial(a: number, b: number): void {
    const key = `${Math.min(a, b)}${Math.max(a, b)}`
    this.socats.get(key)?.kill('SIGKILL')
    this.socats.delete(key)
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface Line {
  type: string
  at?: string
  event?: HeartbeatEvent
  snapshot?: HeartbeatSnapshot
  [k: string]: unknown
}

/** A member process in its namespaces, with its output parsed. */
export class MemberProc {
  readonly lines: Line[] = []
  private readonly proc: ChildProcess
  private waiters: (() => void)[] = []
  exited = false

  constructor(
    readonly name: string,
    ns: string,
    specFile: string,
    /** Shell run first in the member's pid namespace (background what must keep running). */
    extraPidNsCommand?: string,
  ) {
    // own pid namespace: the guard must see the processes of this "machine" only; sh stays
    // pid 1 (a pid 1 cannot be killed from inside), and the namespace dies with unshare
    const script = `${extraPidNsCommand ? `${extraPidNsCommand}\n` : ''}node ${memberMain()} ${specFile}; exit $?`
    this.proc = spawn(
      'ip',
      ['netns', 'exec', ns, 'unshare', '-p', '-f', '--mount-proc', '--kill-child', 'sh', '-c', script],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    )
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as Line)
      } catch {
        this.lines.push({ type: 'stdout', text: l })
      }
      this.wake()
    })
    createInterface({ input: this.proc.stderr! }).on('line', (l) => {
      this.lines.push({ type: 'stderr', text: l })
    })
    this.proc.on('exit', () => {
      this.exited = true
      this.wake()
    })
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  events(): HeartbeatEvent[] {
    return this.lines.filter((l) => l.type === 'event').map((l) => l.event!)
  }

  /** Wait until `pred` holds over the output (bounded: a test never hangs). */
  async until<T>(what: string, pred: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
    const end = Date.now() + timeoutMs
    for (;;) {
      const v = pred()
      if (v) return v
      if (Date.now() > end || (this.exited && what !== 'stopped' && !what.includes('powered off')))
        throw new Error(
          `${this.name}: timed out waiting for ${what}; last output:\n${this.lines
            .slice(-15)
            .map((l) => JSON.stringify(l))
            .join('\n')}`,
        )
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(100)])
    }
  }

  untilEvent(
    what: string,
    pred: (e: HeartbeatEvent) => boolean,
    timeoutMs?: number,
  ): Promise<HeartbeatEvent> {
    return this.until(what, () => this.events().find(pred), timeoutMs)
  }

  async snapshot(): Promise<HeartbeatSnapshot> {
    const before = this.lines.length
    this.proc.stdin!.write('snapshot\n')
    const l = await this.until('a snapshot', () =>
      this.lines.slice(before).find((x) => x.type === 'snapshot'),
    )
    return l.snapshot!
  }

  async stop(): Promise<void> {
    if (this.exited) return
    this.proc.stdin!.write('stop\n')
    await this.until('stopped', () => this.exited, 5000).catch(() => this.kill())
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.proc.kill(signal)
  }

  /** Freeze or thaw the whole member (SIGSTOP/SIGCONT of its process tree), as a hung node. */
  signalTree(signal: 'SIGSTOP' | 'SIGCONT'): void {
    const all: string[] = []
    const walk = (pid: string) => {
      all.push(pid)
      for (const c of run('sh', ['-c', `pgrep -P ${pid} || true`])
        .split('\n')
        .filter(Boolean))
        walk(c)
    }
    walk(String(this.proc.pid))
    for (const p of all) tryRun('kill', [`-${signal.slice(3)}`, p])
  }

  /** Every process of this member (the ip/unshare wrapper and all below it). */
  pids(): number[] {
    const all: number[] = []
    const walk = (pid: string) => {
      all.push(Number(pid))
      for (const c of run('sh', ['-c', `pgrep -P ${pid} || true`])
        .split('\n')
        .filter(Boolean))
        walk(c)
    }
    walk(String(this.proc.pid))
    return all
  }
}

/** Fence settings of a member that only reports membership (tests turn fields on as needed). */
export const FENCE_OFF: HeartbeatConfig['fence'] = {
  enabled: false,
  quorum: 'majority',
  action: 'off',
  raceDelayMs: 0,
  timeoutMs: 1000,
  retryMs: 5000,
  startupFencing: false,
}

export interface ClusterOptions {
  keepaliveMs?: number
  deadtimeMs?: number
  warntimeMs?: number
  initdeadMs?: number
  fence?: Partial<HeartbeatConfig['fence']>
  serial?: boolean
  /** Multicast on net m (default true). */
  mcast?: boolean
  authKeys?: string
  ping?: PingSettings
}

/** Member i's heartbeat config in a NetLab: mcast on net m, ucast to every peer on net u, serial to every peer. */
export function memberConfig(lab: NetLab, i: number, o: ClusterOptions = {}): HeartbeatConfig {
  const nodes = Array.from({ length: lab.size }, (_, k) => `n${k + 1}`)
  const links: LinkConfig[] = []
  if (o.mcast !== false)
    links.push({
      kind: 'mcast',
      name: 'mcast',
      interface: 'fghbm',
      group: '239.0.0.231',
      port: 694,
      ttl: 1,
      loop: false,
    })
  for (let j = 1; j <= lab.size; j++)
    if (j !== i)
      links.push({ kind: 'ucast', name: `ucast-n${j}`, interface: 'fghbu', peer: lab.ip(j, 'u'), port: 694 })
  if (o.serial !== false)
    for (let j = 1; j <= lab.size; j++)
      if (j !== i)
        links.push({
          kind: 'serial',
          name: `serial-n${j}`,
          path: lab.ptyPath(i, j),
          baud: 115200,
          rtscts: false,
        })
  const deadtimeMs = o.deadtimeMs ?? 1000
  const keyFile = `${lab.dir}/authkeys`
  if (!existsSync(keyFile))
    writeFileSync(keyFile, o.authKeys ?? 'auth 1\n1 sha1 fencegate-test-key\n', { mode: 0o600 })
  return {
    node: `n${i}`,
    nodes,
    keepaliveMs: o.keepaliveMs ?? 200,
    warntimeMs: o.warntimeMs ?? Math.round(deadtimeMs / 2),
    deadtimeMs,
    initdeadMs: o.initdeadMs ?? 4000,
    links,
    authKeyFile: keyFile,
    allowCrc: false,
    stateDir: `${lab.dir}/state-n${i}`,
    fence: { ...FENCE_OFF, ...o.fence },
    ...(o.ping ? { ping: o.ping } : {}),
  }
}

export function startMember(
  lab: NetLab,
  i: number,
  config: HeartbeatConfig,
  extra: Partial<MemberSpec> = {},
  pidNsExtra?: string,
): MemberProc {
  const spec: MemberSpec = { config, powerDir: lab.dir, ...extra }
  const file = `${lab.dir}/spec-n${i}.json`
  writeFileSync(file, JSON.stringify(spec))
  rmSync(`${lab.dir}/power-n${i}`, { force: true })
  return new MemberProc(`n${i}`, lab.ns(i), file, pidNsExtra)
}

export function fenceLog(lab: NetLab): { fencer: string; victim: string }[] {
  try {
    return readFileSync(`${lab.dir}/fence.log`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  } catch {
    return []
  }
}
