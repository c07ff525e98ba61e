import { EventEmitter } from 'node:events'
import { type ChildProcess, fork } from 'node:child_process'
import { setPriority } from 'node:os'
import { FenceError } from '../../core/errors.js'
import type { FenceAction } from '../../core/types.js'
import { readAuthKeys } from './auth.js'
import type { HeartbeatConfig } from './config.js'
import { describeAuthorities, findOtherAuthorities } from './guard.js'
import type { FenceResult } from './fence-policy.js'
import type { FromWorker, HeartbeatEvent, HeartbeatSnapshot, ToWorker, WorkerInit } from './protocol.js'

/**
 * The gateway's side of the heartbeat: starts the membership worker, answers its fence requests
 * (through the engine), tells it which members our engine can fence, keeps the other-authority
 * guard, and hands events to the journal, logs and metrics. It holds no membership state of
 * its own: the worker is the only judge of who is alive.
 */
export interface HeartbeatDeps {
  /**
   * Fence a member (the engine, initiator heartbeat), its incarnation `generation` (undefined: never
   * heard). Resolves with the outcome, never rejects; `by` when another replica ran it.
   */
  fence?: (node: string, action: FenceAction, generation?: number) => Promise<FenceResult>
  /** This gateway is one replica of several (replica mode): see WorkerInit.replicas. */
  replicas?: boolean
  /** The members whose fence devices this gateway reaches now (engine device health). */
  reach?: () => string[] | Promise<string[]>
  /** Membership changes and fence decisions, for the journal. */
  journal?: (at: string, event: HeartbeatEvent) => void | Promise<void>
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void
  /** The membership process script (tests run the compiled one). Default: worker.js beside this file. */
  workerUrl?: URL
  /**
   * Niceness of the membership process (heartbeat itself runs realtime). Lowering it needs root;
   * without, it stays at ours. Default -10.
   */
  nice?: number
  guardIntervalMs?: number
  reachIntervalMs?: number
  /** How long the membership process may take to say it is ready (key file, state fsync, links). */
  startTimeoutMs?: number
  /** Where the guard looks for other membership authorities. */
  procRoot?: string
}

export interface HeartbeatEventRecord {
  at: string
  event: HeartbeatEvent
}

const RESTART_MS = 1000
const START_TIMEOUT_MS = 30_000

/**
 * The membership process script: worker.js beside this module (the build), or the compiled one
 * FENCEGATE_HEARTBEAT_WORKER names (a gateway run from TypeScript sources by a test runner,
 * where no worker.js sits beside service.ts).
 */
function workerScript(): URL {
  const env = process.env.FENCEGATE_HEARTBEAT_WORKER
  return env ? new URL(`file://${env}`) : new URL('./worker.js', import.meta.url)
}

export class HeartbeatService extends EventEmitter {
  private worker: ChildProcess | undefined
  private stopping = false
  private snapIds = 0
  private readonly snaps = new Map<number, (s: HeartbeatSnapshot) => void>()
  private readonly snapDone = new Map<number, (s: HeartbeatSnapshot | undefined) => void>()
  private readonly timers: NodeJS.Timeout[] = []
  private blockedBy: string | undefined
  private lastReach = ''
  /** Events since start, newest last (bounded), for the API. */
  readonly recent: HeartbeatEventRecord[] = []
  generation = 0

  private constructor(
    readonly config: HeartbeatConfig,
    private readonly deps: HeartbeatDeps,
  ) {
    super()
  }

  /**
   * Start the heartbeat. Refuses (FenceError CONFIG_INVALID) to enable fencing where corosync,
   * Pacemaker or a heartbeat daemon runs, and fails early on an unsafe or broken key file.
   */
  static async start(config: HeartbeatConfig, deps: HeartbeatDeps = {}): Promise<HeartbeatService> {
    readAuthKeys(config.authKeyFile)
    if (config.fence.enabled) {
      const others = await findOtherAuthorities(deps.procRoot)
      if (others.length)
        throw new FenceError(
          'CONFIG_INVALID',
          `heartbeat fencing refused: ${describeAuthorities(others)}. It fences on its own membership; ` +
            'two authorities with different timing could each kill a node of the other majority. ' +
            'Set heartbeat.fence.enabled: false (membership is still reported) or stop it.',
        )
    }
    const svc = new HeartbeatService(config, deps)
    await svc.spawn()
    svc.timers.push(setInterval(() => void svc.guard(), deps.guardIntervalMs ?? 10_000))
    svc.timers.push(setInterval(() => void svc.pushReach(), deps.reachIntervalMs ?? 5_000))
    for (const t of svc.timers) t.unref()
    await svc.pushReach()
    return svc
  }

  private spawn(): Promise<void> {
    const url = this.deps.workerUrl ?? workerScript()
    const worker = fork(url, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    })
    this.worker = worker
    if (worker.pid)
      try {
        setPriority(worker.pid, this.deps.nice ?? -10)
      } catch {
        // not root: the membership process keeps our priority
      }
    worker.send({
      type: 'init',
      config: this.config,
      ...(this.deps.replicas ? { replicas: true } : {}),
    } satisfies { type: 'init' } & WorkerInit)
    return new Promise((resolve, reject) => {
      let ready = false
      // a process stuck before ready (a hung disk under its state fsync) must not hang serve
      const startMs = this.deps.startTimeoutMs ?? START_TIMEOUT_MS
      const starting = setTimeout(() => {
        reject(new FenceError('DEADLINE_EXCEEDED', `heartbeat process not ready after ${startMs}ms`))
        worker.kill('SIGKILL')
      }, startMs)
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          ready = true
          clearTimeout(starting)
          this.generation = m.generation
          this.log('info', `heartbeat up: node ${this.config.node}, generation ${m.generation}`)
          if (this.blockedBy) this.post({ type: 'blocked', why: this.blockedBy })
          this.lastReach = ''
          void this.pushReach()
          resolve()
        } else if (m.type === 'fatal') {
          if (!ready) reject(new FenceError('CONFIG_INVALID', `heartbeat: ${m.error}`))
          else this.log('error', `heartbeat process: ${m.error}`)
        } else this.onMessage(m, worker)
      })
      worker.on('error', (e) => {
        this.log('error', `heartbeat process: ${e.message}`)
        if (!ready) reject(e)
      })
      worker.on('exit', (code, signal) => {
        clearTimeout(starting)
        if (this.worker !== worker) return
        this.worker = undefined
        for (const done of this.snapDone.values()) done(undefined)
        if (!ready)
          return reject(
            new FenceError('INTERNAL', `heartbeat process exited (${signal ?? code}) before it was ready`),
          )
        if (this.stopping) return
        // without it we send no heartbeats and peers will declare us dead: come back quickly,
        // with a new generation, so that they see a restart instead
        this.log('error', `heartbeat process exited (${signal ?? code}); restarting`)
        const t = setTimeout(() => {
          if (!this.stopping)
            this.spawn().catch((e) => this.log('error', `heartbeat restart failed: ${e.message}`))
        }, RESTART_MS)
        t.unref()
      })
    })
  }

  private post(m: ToWorker): void {
    if (this.worker?.connected) this.worker.send(m)
  }

  private log(
    level: 'debug' | 'info' | 'warn' | 'error',
    msg: string,
    fields?: Record<string, unknown>,
  ): void {
    this.deps.log?.(level, msg, fields)
  }

  private onMessage(m: FromWorker, from: ChildProcess): void {
    switch (m.type) {
      case 'event': {
        this.recent.push({ at: m.at, event: m.event })
        if (this.recent.length > 500) this.recent.shift()
        this.log(eventLevel(m.event), describeEvent(m.event), { ...m.event, at: m.at })
        this.emit('event', m.event, m.at)
        void Promise.resolve(this.deps.journal?.(m.at, m.event)).catch((e) =>
          this.log('error', `heartbeat: journal write failed: ${(e as Error).message}`),
        )
        break
      }
      case 'fence': {
        const run: Promise<FenceResult> = this.deps.fence
          ? this.deps
              .fence(m.node, m.action, m.generation)
              .catch((e: Error) => ({ ok: false, error: e.message }))
          : Promise.resolve({ ok: false, error: 'no fence executor wired' })
        // the answer goes to the process that asked: each numbers its requests from 1, so after a
        // restart another process's request 1 (another node) would take it for its own
        void run.then((r) => {
          if (from.connected)
            from.send({
              type: 'fence-result',
              id: m.id,
              ok: r.ok,
              ...(r.error ? { error: r.error } : {}),
              ...(r.by ? { by: r.by } : {}),
            } satisfies ToWorker)
        })
        break
      }
      case 'snapshot': {
        const done = this.snaps.get(m.id)
        this.snaps.delete(m.id)
        done?.(m.snapshot)
        break
      }
      case 'log':
        this.log(m.level, m.msg, m.fields)
        break
    }
  }

  /** The membership process's view right now. */
  snapshot(timeoutMs = 2000): Promise<HeartbeatSnapshot> {
    if (!this.worker?.connected)
      return Promise.reject(new FenceError('ENGINE_CLOSED', 'the heartbeat process is not running'))
    const id = ++this.snapIds
    return new Promise((resolve, reject) => {
      const finish = (s: HeartbeatSnapshot | undefined, why = 'the heartbeat process did not answer') => {
        clearTimeout(t)
        this.snaps.delete(id)
        this.snapDone.delete(id)
        if (s) resolve(s)
        else reject(new FenceError('INTERNAL', why))
      }
      const t = setTimeout(() => finish(undefined), timeoutMs)
      this.snaps.set(id, (s) => finish(s))
      this.snapDone.set(id, (s) => finish(s, 'the heartbeat process exited'))
      this.post({ type: 'snapshot', id })
    })
  }

  private async guard(): Promise<void> {
    if (!this.config.fence.enabled) return
    const others = await findOtherAuthorities(this.deps.procRoot)
    const why = others.length ? describeAuthorities(others) : undefined
    if (why === this.blockedBy) return
    this.blockedBy = why
    if (why) this.log('error', `heartbeat fencing blocked: ${why}`)
    else this.log('warn', 'heartbeat fencing unblocked: no other membership authority runs any more')
    this.post({ type: 'blocked', ...(why ? { why } : {}) })
  }

  private async pushReach(): Promise<void> {
    if (!this.deps.reach) return
    try {
      const nodes = (await this.deps.reach()).filter(
        (n) => n !== this.config.node && this.config.nodes.includes(n),
      )
      const key = nodes.join(' ')
      if (key === this.lastReach) return
      this.lastReach = key
      this.post({ type: 'reach', nodes })
    } catch (e) {
      this.log('warn', `heartbeat: cannot tell which fence devices we reach: ${(e as Error).message}`)
    }
  }

  /** Stop cleanly: peers get our shutdown notice and will not fence us. */
  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    for (const t of this.timers) clearInterval(t)
    const worker = this.worker
    if (!worker) return
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        worker.kill('SIGKILL')
        resolve()
      }, 3000)
      worker.once('exit', () => {
        clearTimeout(t)
        resolve()
      })
      worker.on('message', (m: FromWorker) => {
        // goodbye sent, links closed: end the process
        if (m.type === 'stopped') worker.disconnect()
      })
      this.post({ type: 'stop' })
    })
    this.worker = undefined
  }
}

function eventLevel(e: HeartbeatEvent): 'info' | 'warn' | 'error' {
  switch (e.kind) {
    case 'node-dead':
      return e.reason === 'shutdown' ? 'info' : 'error'
    case 'link-dead':
    case 'late-heartbeat':
    case 'lost-packets':
    case 'ping-dead':
    case 'fence-waiting':
    case 'fence-dropped':
      return 'warn'
    case 'fence-start':
      return 'error'
    case 'fence-done':
    case 'fenced-by-replica':
      return e.ok ? 'warn' : 'error'
    default:
      return 'info'
  }
}

/** One line for logs, in heartbeat's words where it has them. */
export function describeEvent(e: HeartbeatEvent): string {
  switch (e.kind) {
    case 'node-up':
      return e.reason === 'restart'
        ? `node ${e.node}: restarted (generation ${e.generation})`
        : e.reason === 'return-after-partition'
          ? `node ${e.node}: returning after partition (same generation ${e.generation})`
          : `node ${e.node}: up`
    case 'node-dead':
      return e.reason === 'shutdown'
        ? `node ${e.node}: left the cluster (clean shutdown)`
        : `node ${e.node}: is dead (silent for ${e.silentMs}ms${e.reason === 'never-seen' ? ', never heard since start' : ''})`
    case 'link-up':
      return `link ${e.node}:${e.link} up`
    case 'link-dead':
      return `link ${e.node}:${e.link} dead (silent for ${e.silentMs}ms)`
    case 'late-heartbeat':
      return `late heartbeat: node ${e.node}: interval ${e.intervalMs} ms`
    case 'lost-packets':
      return `node ${e.node}: ${e.count} lost packet(s)`
    case 'advert':
      return `node ${e.node}: fence reach or ping nodes changed`
    case 'ping-up':
      return `ping node ${e.ping}: up`
    case 'ping-dead':
      return `ping node ${e.ping}: dead (no answer within deadping)`
    case 'fence-start':
      return e.replicas
        ? `fencing ${e.node} (attempt ${e.attempt}; the replicas' election picks the one that runs it)`
        : `fencing ${e.node} (attempt ${e.attempt})`
    case 'fenced-by-replica':
      return e.ok
        ? `${e.node} fenced by replica ${e.replica}${e.op ? ` (operation ${e.op})` : ''}`
        : e.replica
          ? `fencing ${e.node} on replica ${e.replica} failed: ${e.error ?? 'unknown'}`
          : `${e.node} not fenced by any replica: ${e.error ?? 'unknown'}`
    case 'fence-done':
      return e.ok
        ? `fenced ${e.node} in ${e.durationMs}ms`
        : `fencing ${e.node} failed: ${e.error ?? 'unknown'}`
    case 'fence-waiting':
      return `not fencing ${e.node} now: ${e.why}`
    case 'fence-dropped':
      return `no fence for ${e.node}: ${e.why}`
  }
}
