import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { cpus } from 'node:os'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { percentile } from './lib.js'

/**
 * Heartbeat failure detection (docs/performance.md, "Heartbeat"). Three `fencegate serve`
 * gateways (the built CLI, heartbeat section, fencing off) in three network namespaces on one
 * bridge, mcast + ucast, keepalive 100 ms, deadtime 500 ms:
 *
 * 1. Detection latency: a member is frozen (SIGSTOP of its whole process tree: to its peers it
 *    is dead) at T0; latency = the time the other two declare it dead − T0. Thawed, it returns
 *    (same generation) and the next member is frozen. Goal: p99 ≤ 600 ms.
 * 2. False deaths while every core is saturated by busy loops (nice 0), for LOAD_S seconds.
 *    Goal: 0.
 * 3. The same frozen-member detection with corosync 3 (knet, default totem: token 3 s,
 *    consensus 3.6 s) on the same namespaces: what users would run instead.
 */
const KILLS = 200
const KILL_BUDGET_MS = 85_000
const LOAD_S = 30
const COROSYNC_KILLS = 3
const NET = '10.231.201'
const TAG = 'fghbz'

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' }).toString()
const trySh = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args)
  } catch {}
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const ns = (i: number) => `${TAG}${i}`

function topology(up: boolean): void {
  for (let i = 0; i <= 3; i++) trySh('ip', ['netns', 'del', ns(i)])
  if (!up) return
  sh('ip', ['netns', 'add', ns(0)])
  sh('ip', ['-n', ns(0), 'link', 'add', `${TAG}br`, 'type', 'bridge'])
  sh('ip', ['-n', ns(0), 'link', 'set', `${TAG}br`, 'up'])
  for (let i = 1; i <= 3; i++) {
    sh('ip', ['netns', 'add', ns(i)])
    sh('ip', ['-n', ns(i), 'link', 'set', 'lo', 'up'])
    sh('ip', [
      'link',
      'add',
      `${ns(i)}p`,
      'netns',
      ns(0),
      'type',
      'veth',
      'peer',
      'name',
      `${TAG}m`,
      'netns',
      ns(i),
    ])
    sh('ip', ['-n', ns(0), 'link', 'set', `${ns(i)}p`, 'master', `${TAG}br`, 'up'])
    sh('ip', ['-n', ns(i), 'addr', 'add', `${NET}.${i}/24`, 'dev', `${TAG}m`])
    sh('ip', ['-n', ns(i), 'link', 'set', `${TAG}m`, 'up'])
  }
}

interface Ev {
  kind: string
  node?: string
  reason?: string
  intervalMs?: number
  at?: string
}

/** A process tree in a node's namespaces, with its output lines (JSON log lines parsed once). */
class NodeProc {
  readonly proc: ChildProcess
  readonly lines: { t: number; text: string }[] = []
  readonly evs: { t: number; ev: Ev }[] = []
  constructor(i: number, script: string) {
    this.proc = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns(i),
        'unshare',
        '-m',
        '-p',
        '-f',
        '--mount-proc',
        '--kill-child',
        'sh',
        '-c',
        script,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    for (const s of [this.proc.stdout!, this.proc.stderr!])
      createInterface({ input: s }).on('line', (text) => {
        const t = Date.now()
        this.lines.push({ t, text })
        if (!text.startsWith('{')) return
        try {
          const ev = JSON.parse(text) as Ev
          if (ev.kind) this.evs.push({ t, ev })
        } catch {}
      })
  }
  signal(sig: 'STOP' | 'CONT'): void {
    const walk = (pid: string): string[] => [
      pid,
      ...sh('sh', ['-c', `pgrep -P ${pid} || true`])
        .split('\n')
        .filter(Boolean)
        .flatMap(walk),
    ]
    for (const p of walk(String(this.proc.pid))) trySh('kill', [`-${sig}`, p])
  }
  kill(): void {
    this.proc.kill('SIGKILL')
  }
}

function events(p: NodeProc, since = 0): Ev[] {
  const out: Ev[] = []
  for (let i = p.evs.length - 1; i >= 0 && p.evs[i]!.t >= since; i--) out.unshift(p.evs[i]!.ev)
  return out
}

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (pred()) return true
    await sleep(20)
  }
  return false
}

export default async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('skipped: needs root (network namespaces)')
    return
  }
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url))
  const dir = mkdtempSync(path.join(tmpdir(), 'fghb-bench-'))
  writeFileSync(`${dir}/authkeys`, 'auth 1\n1 sha1 bench-key\n', { mode: 0o600 })
  topology(true)
  const gws: NodeProc[] = []
  try {
    for (let i = 1; i <= 3; i++) {
      const cfg = {
        listen: '127.0.0.1:18444',
        journal: `${dir}/n${i}/journal.jsonl`,
        devices: {},
        nodes: {},
        heartbeat: {
          node: `n${i}`,
          nodes: ['n1', 'n2', 'n3'],
          keepalive: '100ms',
          warntime: '300ms',
          deadtime: '500ms',
          initdeadtime: '5s',
          links: [
            { mcast: { interface: `${TAG}m`, group: '239.0.0.232', port: 694, ttl: 1 } },
            ...[1, 2, 3]
              .filter((j) => j !== i)
              .map((j) => ({ name: `ucast-n${j}`, ucast: { interface: `${TAG}m`, peer: `${NET}.${j}` } })),
          ],
          authKeyFile: `${dir}/authkeys`,
        },
      }
      writeFileSync(`${dir}/n${i}.yaml`, stringify(cfg))
      gws.push(new NodeProc(i, `exec node ${cli} serve --config ${dir}/n${i}.yaml --log-level info`))
    }
    const others = (v: number) => [0, 1, 2].filter((k) => k !== v)
    const allUp = () =>
      gws.every((g, k) =>
        others(k).every((o) => events(g).some((e) => e.kind === 'node-up' && e.node === `n${o + 1}`)),
      )
    if (!(await until(allUp, 30_000))) throw new Error('the three gateways did not see each other')

    // 1. detection latency
    const lat: number[] = []
    let kills = 0
    let missed = 0
    const began = Date.now()
    while (kills < KILLS && Date.now() - began < KILL_BUDGET_MS) {
      const v = kills % 3
      const name = `n${v + 1}`
      await sleep(150 + Math.random() * 100) // a random phase against the victim's send timer
      const t0 = Date.now()
      gws[v]!.signal('STOP')
      const deaths = () =>
        others(v).map((o) => events(gws[o]!, t0).find((e) => e.kind === 'node-dead' && e.node === name))
      const seen = await until(() => deaths().every(Boolean), 5000)
      gws[v]!.signal('CONT')
      kills++
      if (!seen) missed++
      for (const d of deaths()) if (d?.at) lat.push(Date.parse(d.at) - t0)
      await until(
        () =>
          others(v).every((o) => events(gws[o]!, t0).some((e) => e.kind === 'node-up' && e.node === name)),
        5000,
      )
    }
    const killMs = Date.now() - began

    // 2. false deaths under load
    const hogs = cpus().map(() => spawn('node', ['-e', 'for(;;){}'], { stdio: 'ignore' }))
    const loadStart = Date.now()
    await sleep(LOAD_S * 1000)
    for (const h of hogs) h.kill('SIGKILL')
    const during = gws.flatMap((g) => events(g, loadStart))
    const falseDeaths = during.filter((e) => e.kind === 'node-dead').length
    const late = during.filter((e) => e.kind === 'late-heartbeat')
    const worstGap = Math.max(0, ...late.map((e) => e.intervalMs ?? 0))
    for (const g of gws) g.kill()
    await sleep(300)

    // 3. corosync on the same namespaces
    const coro = await corosync(dir)

    console.log(
      `fencegate heartbeat, 3 gateways in namespaces, mcast + ucast, keepalive 100 ms, deadtime 500 ms, nice -10 membership process`,
    )
    console.log('detection latency (ms, frozen member → declared dead by each of the other two)')
    console.log('  kills  detections  missed   median      p99      max')
    console.log(
      `  ${String(kills).padStart(5)}  ${String(lat.length).padStart(10)}  ${String(missed).padStart(6)}  ${String(percentile(lat, 50)).padStart(7)}  ${String(percentile(lat, 99)).padStart(7)}  ${String(Math.max(...lat)).padStart(7)}   (${(killMs / 1000).toFixed(0)} s)`,
    )
    console.log(
      `false deaths with ${hogs.length} busy loops on ${cpus().length} cores for ${LOAD_S} s: ${falseDeaths}` +
        ` (late heartbeats: ${late.length}, worst interval ${worstGap} ms)`,
    )
    if (coro.length)
      console.log(
        `corosync 3 (knet, default token 3000 ms + consensus 3600 ms), same namespaces, ${coro.length / 2} kills: ` +
          `median ${percentile(coro, 50)} ms, max ${Math.max(...coro)} ms — ratio to fencegate median ${(percentile(coro, 50) / percentile(lat, 50)).toFixed(1)}×`,
      )
  } finally {
    for (const g of gws) g.kill()
    topology(false)
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Frozen-member detection with corosync: the time the others log "Members left". */
async function corosync(dir: string): Promise<number[]> {
  try {
    sh('sh', ['-c', 'command -v corosync'])
  } catch {
    console.log('corosync not installed: comparison skipped')
    return []
  }
  const conf = `${dir}/corosync.conf`
  writeFileSync(
    conf,
    `totem {
  version: 2
  cluster_name: fghbbench
  transport: knet
  crypto_cipher: none
  crypto_hash: none
}
nodelist {
${[1, 2, 3].map((i) => `  node {\n    ring0_addr: ${NET}.${i}\n    name: n${i}\n    nodeid: ${i}\n  }`).join('\n')}
}
quorum {
  provider: corosync_votequorum
}
logging {
  to_stderr: yes
  to_syslog: no
}
`,
  )
  // corosync's files go to private tmpfs mounts in each node's mount namespace
  const script = `for d in /run /dev/shm /var/lib/corosync; do mount -t tmpfs fghb $d; done; exec corosync -f -c ${conf}`
  const nodes = [1, 2, 3].map((i) => new NodeProc(i, script))
  const lat: number[] = []
  try {
    const formed = (p: NodeProc, since = 0) =>
      p.lines.some((l) => l.t >= since && /Members\[3\]/.test(l.text))
    if (!(await until(() => nodes.every((n) => formed(n)), 30_000))) {
      console.log('corosync: the three did not form a membership; comparison skipped')
      return []
    }
    for (let k = 0; k < COROSYNC_KILLS; k++) {
      const v = k % 3
      const t0 = Date.now()
      nodes[v]!.signal('STOP')
      const left = (o: number) =>
        nodes[o]!.lines.find((l) => l.t >= t0 && new RegExp(`Members left: ${v + 1}\\b`).test(l.text))
      const obs = [0, 1, 2].filter((o) => o !== v)
      await until(() => obs.every((o) => left(o)), 20_000)
      for (const o of obs) {
        const l = left(o)
        if (l) lat.push(l.t - t0)
      }
      const t1 = Date.now()
      nodes[v]!.signal('CONT')
      await until(() => obs.every((o) => formed(nodes[o]!, t1)), 20_000)
    }
  } finally {
    for (const n of nodes) n.kill()
  }
  return lat
}
