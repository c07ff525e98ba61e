import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import etcd3 from 'etcd3'
import { ETCD_PREFIX, type Replica, ReplicaSet, call } from '../firmware-mocks/replica-set.js'
import { median, percentile } from './lib.js'

/**
 * Replica mode through etcd against one gateway (docs/performance.md, "Replicas (etcd)"). Three
 * `fencegate serve` replicas (the built CLI, lease 2 s) over a real three-member etcd cluster and
 * one lab of dummy devices, beside a single `fencegate serve` (same config, no coordination):
 *
 * Engine settings: probes off, retries 0, onStagger 0 (so an `on` is not paced for inrush).
 *
 * 1. Per-operation cost, interleaved: status of one node (`GET /v1/nodes/{node}`, read now), a
 *    verified `off`, a verified `on` — through replica r1 and through the single gateway, each on
 *    its own 8-plug device — and a batch of 8 concurrent offs (then ons) of one device: through
 *    r1 alone, spread over the three replicas, and through the single gateway. Medians and ratios,
 *    plus CPU time per status+off+on of the serving process and of etcd (all members).
 * 2. Bulk status of 1,000 plugs (50 devices of 20) through replica r2 holding none of the devices
 *    (no key under `locks/` in etcd before each), against the single gateway.
 * 3. Failover: replica X holds the device (its lock key is the oldest under `locks/pdu/`; its
 *    status read is held back 10 s by the mock) and is killed with SIGKILL; at once the next
 *    replica is asked for a verified `off` of another plug of that device. Failover = kill → that
 *    off answered (succeeded, read back off); "lock gone" = kill → X's lock key gone from etcd
 *    (its lease expired). A round counts only if X's key was still there after X had exited.
 */

const PLUGS = 8
const BULK_DEVICES = 50
const BULK_PLUGS = 20
const OPS = 40
const WARMUP = 5
const BATCHES = 10
const BULK_RUNS = 10
const FAILOVERS = 8

const bin = fileURLToPath(new URL('../src/cli/main.js', import.meta.url))

interface Answer {
  status: number
  body: Record<string, unknown>
}
type Op = { status: string; results: { state: string; already?: boolean }[] }

function expectOp(a: Answer, state: 'on' | 'off', what: string): void {
  const op = a.body.operation as Op | undefined
  if (a.status !== 200 || op?.status !== 'succeeded' || op.results.some((r) => r.state !== state))
    throw new Error(`${what}: HTTP ${a.status} ${JSON.stringify(a.body).slice(0, 400)}`)
}

async function timed(f: () => Promise<void>): Promise<number> {
  const t = performance.now()
  await f()
  return performance.now() - t
}

/** user + system CPU time of a process so far, ms (from /proc, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * 10 // fields 14 and 15 (utime, stime), after pid and comm
}
const cpuOf = (pids: number[]) => pids.reduce((s, p) => s + cpuMs(p), 0)

const f1 = (x: number) => x.toFixed(1)
const row = (label: string, cells: string[]) =>
  console.log(`${label.padEnd(48)} ${cells.map((c) => c.padStart(10)).join(' ')}`)
const stats = (xs: number[]) => [
  f1(median(xs)),
  f1(percentile(xs, 90)),
  f1(Math.min(...xs)),
  f1(Math.max(...xs)),
]

function lab(): { devices: Record<string, Record<string, unknown>>; nodes: Record<string, unknown> } {
  const devices: Record<string, Record<string, unknown>> = {
    pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: PLUGS },
    solo: { kind: 'dummy', listen: '127.0.0.1:0', plugs: PLUGS },
  }
  const nodes: Record<string, unknown> = {}
  for (let p = 1; p <= PLUGS; p++) {
    nodes[`n${p}`] = { plugs: [`pdu:${p}`] } // the replicas' device
    nodes[`s${p}`] = { plugs: [`solo:${p}`] } // the single gateway's
  }
  for (let d = 1; d <= BULK_DEVICES; d++) {
    devices[`d${d}`] = { kind: 'dummy', listen: '127.0.0.1:0', plugs: BULK_PLUGS }
    for (let p = 1; p <= BULK_PLUGS; p++) nodes[`b${(d - 1) * BULK_PLUGS + p}`] = { plugs: [`d${d}:${p}`] }
  }
  return { devices, nodes }
}

async function perOperation(set: ReplicaSet, single: Replica, etcdPids: number[]): Promise<void> {
  const r1 = set.replica('r1')
  const sides = [
    { name: 'single', url: single.url, node: 's1', prefix: 's', pid: single.child.pid! },
    { name: 'replica', url: r1.url, node: 'n1', prefix: 'n', pid: r1.child.pid! },
  ]
  const t: Record<string, Record<'status' | 'off' | 'on', number[]>> = {}
  const cpu: Record<string, number> = {}
  for (const s of sides) t[s.name] = { status: [], off: [], on: [] }
  let etcdCpu = 0
  for (let i = 0; i < WARMUP + OPS; i++)
    for (const s of sides) {
      const c0 = cpuMs(s.pid)
      const e0 = s.name === 'replica' ? cpuOf(etcdPids) : 0
      const status = await timed(async () => {
        const a = await call(s.url, 'GET', `/v1/nodes/${s.node}`)
        if (a.status !== 200 || (a.body.node as { state: string }).state !== 'on')
          throw new Error(`status through ${s.name}: ${JSON.stringify(a.body).slice(0, 300)}`)
      })
      const off = await timed(async () =>
        expectOp(await call(s.url, 'POST', `/v1/nodes/${s.node}/power`, { action: 'off' }), 'off', s.name),
      )
      const on = await timed(async () =>
        expectOp(await call(s.url, 'POST', `/v1/nodes/${s.node}/power`, { action: 'on' }), 'on', s.name),
      )
      if (i < WARMUP) continue
      t[s.name]!.status.push(status)
      t[s.name]!.off.push(off)
      t[s.name]!.on.push(on)
      cpu[s.name] = (cpu[s.name] ?? 0) + cpuMs(s.pid) - c0
      if (s.name === 'replica') etcdCpu += cpuOf(etcdPids) - e0
    }

  // a batch: every plug of the device off at once, then on at once (two samples per round)
  const targets = [
    { name: 'single', urls: [single.url], prefix: 's' },
    { name: 'replica r1 alone', urls: [r1.url], prefix: 'n' },
    { name: 'replicas r1–r3 (round robin)', urls: set.replicas.map((r) => r.url), prefix: 'n' },
  ]
  const batch: Record<string, Record<'off' | 'on', number[]>> = {}
  for (const b of targets) batch[b.name] = { off: [], on: [] }
  for (let i = 0; i < 1 + BATCHES; i++)
    for (const b of targets)
      for (const action of ['off', 'on'] as const) {
        const d = await timed(async () => {
          const answers = await Promise.all(
            Array.from({ length: PLUGS }, (_, k) =>
              call(b.urls[k % b.urls.length]!, 'POST', `/v1/nodes/${b.prefix}${k + 1}/power`, { action }),
            ),
          )
          for (const a of answers) expectOp(a, action, `batch ${action} through ${b.name}`)
        })
        if (i > 0) batch[b.name]![action].push(d)
      }

  console.log(
    `\nper operation, ms (${OPS} of each after ${WARMUP} warm-ups, interleaved; dummy device, zero transition delay)`,
  )
  row('', ['median', 'p90', 'min', 'max', 'ratio'])
  for (const op of ['status', 'off', 'on'] as const) {
    const one = t.single![op]
    const rep = t.replica![op]
    row(`${op}: single gateway`, [...stats(one), ''])
    row(`${op}: replica (r1, lock taken and given back)`, [
      ...stats(rep),
      `${(median(rep) / median(one)).toFixed(2)}×`,
    ])
  }
  console.log(`\nbatch: ${PLUGS} concurrent verified offs, then ons, on one device, ms (${BATCHES} of each)`)
  row('', ['median', 'p90', 'min', 'max', 'ratio'])
  for (const action of ['off', 'on'] as const) {
    const base = median(batch.single![action])
    for (const b of targets)
      row(`${action} × ${PLUGS}: ${b.name}`, [
        ...stats(batch[b.name]![action]),
        b.name === 'single' ? '' : `${(median(batch[b.name]![action]) / base).toFixed(2)}×`,
      ])
  }
  const per = (x: number) => f1(x / OPS)
  console.log(
    `\nCPU per status+off+on, ms: single gateway ${per(cpu.single!)}, replica r1 ${per(cpu.replica!)}, etcd (3 members) ${per(etcdCpu)}`,
  )
}

async function bulkStatus(set: ReplicaSet, single: Replica, ns: Namespace): Promise<void> {
  const r2 = set.replica('r2')
  const route = `/v1/nodes?refresh=true&targets=b[1-${BULK_DEVICES * BULK_PLUGS}]`
  const t: Record<string, number[]> = { single: [], replica: [] }
  const first: Record<string, number> = {}
  for (let i = 0; i < 2 + BULK_RUNS; i++)
    for (const [name, url] of [
      ['single', single.url],
      ['replica', r2.url],
    ] as const) {
      if (name === 'replica') {
        const held = await ns.getAll().prefix('locks/').keys()
        if (held.length) throw new Error(`bulk status: locks held before the run: ${held.join(', ')}`)
      }
      const d = await timed(async () => {
        const a = await call(url, 'GET', route)
        const nodes = a.body.nodes as { state: string }[] | undefined
        if (
          a.status !== 200 ||
          nodes?.length !== BULK_DEVICES * BULK_PLUGS ||
          nodes.some((n) => n.state !== 'on')
        )
          throw new Error(
            `bulk status through ${name}: HTTP ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`,
          )
      })
      if (i === 0) first[name] = d
      if (i >= 2) t[name]!.push(d)
    }
  console.log(
    `\nbulk status: ${BULK_DEVICES * BULK_PLUGS} plugs on ${BULK_DEVICES} dummy devices, GET ${route}, ms (${BULK_RUNS} after 2 warm-ups, interleaved)`,
  )
  row('', ['median', 'p90', 'min', 'max', 'ratio'])
  row('single gateway (sessions kept open)', [...stats(t.single!), ''])
  row('replica r2, holding none of the 50 devices', [
    ...stats(t.replica!),
    `${(median(t.replica!) / median(t.single!)).toFixed(2)}×`,
  ])
  row('the very first one: single / replica', [f1(first.single!), f1(first.replica!)])
}

type Namespace = ReturnType<InstanceType<typeof etcd3.Etcd3>['namespace']>

/** The replica whose key is the oldest under locks/pdu/ (the holder), with its key. */
async function holder(ns: Namespace): Promise<{ key: string; replica: string } | undefined> {
  const kvs = await ns.getAll().prefix('locks/pdu/').sort('Create', 'Ascend').limit(1).strings()
  const [key, replica] = Object.entries(kvs)[0] ?? []
  return key && replica ? { key, replica } : undefined
}

async function failover(set: ReplicaSet, ns: Namespace): Promise<void> {
  const control = (method: string, route: string, body?: unknown) =>
    fetch(`${set.control}${route}`, {
      method,
      ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    }).then((r) => {
      if (!r.ok) throw new Error(`control ${method} ${route}: HTTP ${r.status}`)
    })
  const done: number[] = []
  const gone: number[] = []
  let discarded = 0
  for (let i = 0; done.length < FAILOVERS && i < FAILOVERS * 2; i++) {
    const victim = set.replicas[i % set.replicas.length]!
    const survivor = set.replicas[(i + 1) % set.replicas.length]!
    await control('PUT', '/devices/pdu/plugs/2', { state: 'on' })
    await control('POST', '/devices/pdu/faults', { type: 'delay', ms: 10_000, count: 1 })
    // the victim reads plug 1: it takes the lock, and the mock holds the answer back
    void call(victim.url, 'GET', '/v1/nodes/n1').catch(() => {})
    const until = Date.now() + 10_000
    let h = await holder(ns)
    while (h?.replica !== victim.name) {
      if (Date.now() > until)
        throw new Error(`failover: ${victim.name} never held pdu (holder ${h?.replica})`)
      await new Promise((r) => setTimeout(r, 5))
      h = await holder(ns)
    }
    const key = h.key
    const t0 = performance.now()
    victim.child.kill('SIGKILL')
    const next = call(survivor.url, 'POST', '/v1/nodes/n2/power', { action: 'off' }).then((a) => {
      expectOp(a, 'off', `off through ${survivor.name} after the kill`)
      return performance.now() - t0
    })
    let goneAt: number | undefined
    const watch = (async () => {
      for (;;) {
        const keys = await ns.getAll().prefix('locks/pdu/').keys()
        if (!keys.includes(key)) return performance.now() - t0
        if (performance.now() - t0 > 30_000) throw new Error(`failover: ${key} still in etcd after 30 s`)
        await new Promise((r) => setTimeout(r, 5))
      }
    })().then((d) => {
      goneAt = d
    })
    await victim.exited
    const stillThere = goneAt === undefined && (await ns.getAll().prefix('locks/pdu/').keys()).includes(key)
    await control('DELETE', '/devices/pdu/faults')
    const [d] = await Promise.all([next, watch])
    if (stillThere) {
      done.push(d)
      gone.push(goneAt!)
    } else discarded++
    await set.startReplica(victim.name)
  }
  console.log(
    `\nfailover: kill -9 of the replica holding the device → the next verified off on it answered, ms (lease 2 s, ${done.length} rounds${discarded ? `, ${discarded} discarded: the victim had let go before it died` : ''})`,
  )
  row('', ['median', 'p90', 'min', 'max'])
  row('kill → its lock key gone (lease expired)', stats(gone))
  row('kill → next off on the device answered', stats(done))
  row('lock gone → off answered', stats(done.map((d, k) => d - gone[k]!)))
  console.log(`goal ≤ 2500 ms: ${done.filter((d) => d <= 2500).length} of ${done.length} rounds within it`)
}

export default async function run(): Promise<void> {
  const { devices, nodes } = lab()
  const t = performance.now()
  // onStagger 0: the default spaces ons 200 ms apart per device (inrush), which would swamp what is measured
  const set = await ReplicaSet.start({ bin, devices, nodes, engine: { onStagger: '0ms' } })
  const client = new etcd3.Etcd3({ hosts: set.etcd.endpoints })
  try {
    const single = await set.startSingle('single')
    console.log(
      `3 replicas + 1 single gateway (${Object.keys(nodes).length} nodes, ${Object.keys(devices).length} dummy devices), 3-member etcd: started in ${f1((performance.now() - t) / 1000)} s`,
    )
    const ns = client.namespace(`${ETCD_PREFIX}/`)
    await perOperation(set, single, set.etcd.pids)
    await bulkStatus(set, single, ns)
    await failover(set, ns)
    const s = await set.sessions('pdu')
    console.log(`\npdu sessions: ${s.total} opened, overlapping ${s.overlaps} (must be 0)`)
  } finally {
    client.close()
    await set.stop()
  }
}
