import type { NodeView } from '../api/views.js'
import type { Role } from '../../core/types.js'
import type { DeviceHealth, NodeResult, Operation } from '../engine/types.js'
import { AgentFailure, GatewayHttpError } from './failure.js'
import { type GatewayClient, fmt } from './http.js'
import type { AgentIo } from './io.js'
import type { AgentOptions } from './resolve.js'

interface WhoAmI {
  name: string
  role: Role
  nodes?: string[]
}

/** What the agent waits beyond power_timeout for the gateway's answer (it answers at its deadline). */
const GRACE_MS = 5_000

export interface ActionContext {
  o: AgentOptions
  client: GatewayClient
  io: AgentIo
  /** Sent with the one mutating request of this run (fence or power), on every gateway tried. */
  idempotencyKey?: string
}

/** Exit codes as fence-agents: 0 success (status: on), 1 failure, 2 status off. */
export type ExitCode = 0 | 1 | 2

/**
 * One budget for the whole run: power_timeout plus the grace for the gateway's answer. Every
 * request gets what is left, so the agent ends by itself even if Pacemaker never kills it.
 */
class Budget {
  private readonly end: number
  constructor(ms: number) {
    this.end = performance.now() + ms
  }
  left(): number {
    return Math.max(1, this.end - performance.now())
  }
  /** The deadline passed to the gateway: what is left minus the grace, in seconds, at least 1. */
  gatewaySeconds(): number {
    return Math.max(1, Math.floor((this.left() - GRACE_MS) / 100) / 10)
  }
}

const mutation = (ctx: ActionContext) =>
  ctx.idempotencyKey !== undefined ? { idempotencyKey: ctx.idempotencyKey } : {}

const nodePath = (node: string) => `/v1/nodes/${encodeURIComponent(node)}`

/**
 * The engine reads back until the state is right or the deadline passes, so a read-back that
 * never came right (VERIFY_FAILED) is fence-agents' "Timed out waiting to power OFF" too.
 */
const timedOut = (r: NodeResult): boolean =>
  r.error?.code === 'DEADLINE_EXCEEDED' || r.error?.code === 'VERIFY_FAILED'

export async function runAction(ctx: ActionContext): Promise<ExitCode> {
  const { o } = ctx
  switch (o.action) {
    case 'off':
    case 'reboot':
      return fence(ctx, o.action)
    case 'on':
      return powerOn(ctx)
    case 'status':
      return status(ctx)
    case 'list':
    case 'list-status':
      return list(ctx, o.action === 'list-status')
    case 'monitor':
      return monitor(ctx)
    default:
      throw new AgentFailure(`action '${o.action}' does not contact the gateway`)
  }
}

/** The node exists, the token may see it, the gateway is not simulated: before anything is switched. */
async function preflight(ctx: ActionContext, node: string, budget: Budget): Promise<void> {
  try {
    await ctx.client.get(`/v1/nodes?targets=${encodeURIComponent(node)}`, budget.left())
  } catch (e) {
    throw await explainNodeError(ctx, node, e, budget)
  }
}

/** An unknown node is the common configuration mistake: say which names the gateway knows. */
async function explainNodeError(
  ctx: ActionContext,
  node: string,
  e: unknown,
  budget: Budget,
): Promise<unknown> {
  if (!(e instanceof GatewayHttpError)) return e
  if (e.status === 404 && e.code === 'UNKNOWN_NODE') {
    let known = ''
    try {
      const r = await ctx.client.get<{ nodes: NodeView[] }>('/v1/nodes', budget.left())
      known = ` (nodes this token may act on: ${r.body.nodes.map((n) => n.name).join(', ') || 'none'})`
    } catch {
      // the list is a hint only
    }
    return new AgentFailure(
      `plug '${node}' is not a node known to the gateway at ${ctx.client.url}${known}; set plug (or pcmk_host_map) to the gateway's node name`,
    )
  }
  if (e.status === 401)
    return new AgentFailure(
      `the gateway at ${ctx.client.url} refused the token (401 ${e.code}: ${e.detail}); check token_file`,
    )
  if (e.status === 403)
    return new AgentFailure(`the token may not act on node '${node}' (403 ${e.code}: ${e.detail})`)
  return e
}

function describeFailure(r: NodeResult): string {
  const why = r.error ? `${r.error.code}: ${r.error.message}` : `outcome ${r.outcome}`
  const failed = r.attempts
    .filter((a) => a.outcome === 'failed')
    .map(
      (a) =>
        `level ${a.level} ${a.device}:${a.plug} ${a.step}: ${[a.code, a.message].filter(Boolean).join(': ')}`,
    )
  return `${why}${failed.length ? `; failed steps: ${failed.join('; ')}` : ''}; node reads ${r.state}`
}

function resultOf(op: Operation, node: string): NodeResult {
  const r = op.results.find((x) => x.node === node) ?? op.results[0]
  if (!r) throw new AgentFailure(`the gateway returned operation ${op.id} with no result for node ${node}`)
  return r
}

async function fence(ctx: ActionContext, action: 'off' | 'reboot'): Promise<ExitCode> {
  const { o, io, client } = ctx
  const node = o.plug!
  if (o.delayMs > 0) {
    io.debug(`Delay ${fmt(o.delayMs)} before ${action} of ${node}`)
    await new Promise((r) => setTimeout(r, o.delayMs))
  }
  const budget = new Budget(o.powerTimeoutMs + GRACE_MS)
  await preflight(ctx, node, budget)
  let op: Operation
  try {
    const timeout = budget.gatewaySeconds()
    io.debug(`fence ${node} action=${action} timeout=${timeout}s`)
    op = (
      await client.post<{ operation: Operation }>(
        `${nodePath(node)}/fence`,
        { action, timeout },
        budget.left(),
        mutation(ctx),
      )
    ).body.operation
  } catch (e) {
    throw await explainNodeError(ctx, node, e, budget)
  }
  const r = resultOf(op, node)
  if (op.status === 'succeeded' && r.outcome === 'confirmed-by-operator' && r.confirmation) {
    // the manual level (meatware): a person checked the machine; said as such, never as a read-back
    io.err(
      `Warning: node ${node} was not read back off: ${r.confirmation.by} confirmed it off by hand (${r.confirmation.reason}) (operation ${op.id})`,
    )
    io.out('Success: Confirmed OFF by operator')
    return 0
  }
  if (op.status !== 'succeeded' || r.outcome !== 'success') {
    throw new AgentFailure(
      `${timedOut(r) ? `Timed out waiting to power OFF node ${node} (power_timeout ${fmt(o.powerTimeoutMs)})` : `fencing node ${node} (${action}) failed`}: ${describeFailure(r)} (operation ${op.id})`,
    )
  }
  if (action === 'off') {
    // defence in depth: never say off unless the gateway read it back off
    if (r.state !== 'off')
      throw new AgentFailure(
        `the gateway reported success for off of node ${node} but the node reads ${r.state}; not reporting it off (operation ${op.id})`,
      )
    io.out(r.already ? 'Success: Already OFF' : 'Success: Powered OFF')
    return 0
  }
  if (r.onVerified === false)
    io.err(
      `Warning: node ${node} was fenced (every plug read back off) but the power-on was not verified: ${r.onError ? `${r.onError.code}: ${r.onError.message}` : 'no reason given'} (operation ${op.id})`,
    )
  io.out('Success: Rebooted')
  return 0
}

async function powerOn(ctx: ActionContext): Promise<ExitCode> {
  const { o, io, client } = ctx
  const node = o.plug!
  const budget = new Budget(o.powerTimeoutMs + GRACE_MS)
  await preflight(ctx, node, budget)
  let op: Operation
  try {
    op = (
      await client.post<{ operation: Operation }>(
        `${nodePath(node)}/power`,
        { action: 'on', timeout: budget.gatewaySeconds() },
        budget.left(),
        mutation(ctx),
      )
    ).body.operation
  } catch (e) {
    if (e instanceof GatewayHttpError && e.code === 'FENCE_HOLD')
      throw new AgentFailure(
        `power-on of node ${node} refused: ${e.detail} (only a fencer token may power a node on under fence hold)`,
      )
    throw await explainNodeError(ctx, node, e, budget)
  }
  const r = resultOf(op, node)
  if (op.status !== 'succeeded' || r.outcome !== 'success') {
    throw new AgentFailure(
      `${timedOut(r) ? `Timed out waiting to power ON node ${node}` : `power-on of node ${node} failed`}: ${describeFailure(r)} (operation ${op.id})`,
    )
  }
  io.out(r.already ? 'Success: Already ON' : 'Success: Powered ON')
  return 0
}

async function status(ctx: ActionContext): Promise<ExitCode> {
  const { o, io, client } = ctx
  const node = o.plug!
  const budget = new Budget(o.powerTimeoutMs + GRACE_MS)
  let item: NodeView
  try {
    item = (await client.get<{ node: NodeView }>(nodePath(node), budget.left())).body.node
  } catch (e) {
    throw await explainNodeError(ctx, node, e, budget)
  }
  if (item.state === 'on') {
    io.out('Status: ON')
    return 0
  }
  if (item.state === 'off') {
    io.out('Status: OFF')
    return 2
  }
  const errors = item.plugs
    .filter((p) => p.state === 'unknown')
    .map((p) => `${p.device}:${p.plug} ${p.error ? `${p.error.code}: ${p.error.message}` : 'unknown'}`)
  throw new AgentFailure(
    `Unable to obtain correct plug status: node ${node} reads ${item.state}${errors.length ? ` (${errors.join('; ')})` : ''}`,
  )
}

/** The nodes this token may fence: a fencer token, and the node in its allow-list. */
async function fenceable(ctx: ActionContext, budget: Budget, refresh: boolean): Promise<NodeView[]> {
  const [who, nodes] = await Promise.all([
    ctx.client.get<WhoAmI>('/v1/whoami', budget.left()),
    ctx.client.get<{ nodes: NodeView[] }>(`/v1/nodes${refresh ? '?refresh=true' : ''}`, budget.left()),
  ]).catch((e) => {
    if (e instanceof GatewayHttpError && e.status === 401)
      throw new AgentFailure(
        `the gateway at ${ctx.client.url} refused the token (401 ${e.code}: ${e.detail}); check token_file`,
      )
    throw e
  })
  if (who.body.role !== 'fencer') {
    ctx.io.warn(
      `Warning: the token '${who.body.name}' has role ${who.body.role}: it may fence no node (give Pacemaker a fencer token)`,
    )
    return []
  }
  const allowed = Array.isArray(who.body.nodes) ? new Set(who.body.nodes) : undefined
  return nodes.body.nodes.filter((n) => !allowed || allowed.has(n.name))
}

async function list(ctx: ActionContext, withStatus: boolean): Promise<ExitCode> {
  const sep = ctx.o.separator
  const budget = new Budget(ctx.o.powerTimeoutMs + GRACE_MS)
  for (const n of await fenceable(ctx, budget, withStatus)) {
    const state = n.state === 'on' ? 'ON' : n.state === 'off' ? 'OFF' : 'UNKNOWN'
    ctx.io.out(withStatus ? `${n.name}${sep}${n.name}${sep}${state}` : `${n.name}${sep}${n.name}`)
  }
  return 0
}

/**
 * The gateway answering is not enough: probe every device the token's nodes are fenced
 * through, and fail when any is failing, so Pacemaker learns of a dead PDU before it needs it.
 */
async function monitor(ctx: ActionContext): Promise<ExitCode> {
  const { io, client } = ctx
  const budget = new Budget(ctx.o.powerTimeoutMs + GRACE_MS)
  const nodes = await fenceable(ctx, budget, false)
  if (nodes.length === 0)
    throw new AgentFailure('the token may fence no node through the gateway: nothing to monitor')
  const users = new Map<string, string[]>()
  for (const n of nodes)
    for (const ref of n.levels.flat()) {
      const list = users.get(ref.device) ?? []
      if (!list.includes(n.name)) list.push(n.name)
      users.set(ref.device, list)
    }
  const results = await Promise.all(
    [...users.keys()].map(async (id) => {
      try {
        // a probe is a status read: safe to ask another replica
        const r = await client.post<{ device: DeviceHealth }>(
          `/v1/devices/${encodeURIComponent(id)}/probe`,
          undefined,
          budget.left(),
          { readOnly: true },
        )
        return { id, health: r.body.device }
      } catch (e) {
        if (e instanceof GatewayHttpError && e.status === 401) throw e
        return { id, error: (e as Error).message }
      }
    }),
  )
  const failing: string[] = []
  for (const r of results) {
    const fences = `fences ${users.get(r.id)!.join(', ')}`
    if (r.error !== undefined) {
      io.err(`device ${r.id}: probe failed: ${r.error} (${fences})`)
      failing.push(r.id)
    } else if (r.health!.state !== 'ok') {
      const e = r.health!.lastError
      io.err(
        `device ${r.id} (${r.health!.driver}) is ${r.health!.state}: ${e ? `${e.code}: ${e.message}` : 'no probe succeeded'} (${fences})`,
      )
      failing.push(r.id)
    } else io.debug(`device ${r.id} (${r.health!.driver}) ok in ${r.health!.latencyMs ?? '?'} ms`)
  }
  if (failing.length)
    throw new AgentFailure(
      `${failing.length} of ${results.length} devices behind the gateway are failing: ${failing.join(', ')}`,
    )
  return 0
}
