/**
 * GET /v1/events: what happens, as it happens, as server-sent events (text/event-stream) — for
 * the dashboard and for scripts (`curl -N`). Each event carries what the token could read with
 * a GET: a node only if its allow-list has it, an operation only if it has every node of it.
 * The stream opens with `hello`; a comment line every `keepaliveMs` keeps proxies from closing
 * it. Nothing is replayed: a client that reconnects reads the current state with GETs first.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ServerResponse } from 'node:http'
import { Type } from 'typebox'
import type { EngineEvent } from '../../engine/types.js'
import type { HeartbeatService } from '../../heartbeat/service.js'
import { type Principal, mayUse, principal } from '../auth.js'
import type { ApiContext } from '../context.js'
import { errors } from '../schemas.js'
import { nodeView } from '../views.js'

export interface EventsOptions extends ApiContext {
  heartbeat?: HeartbeatService
  /** A comment line this often (default 15 s). */
  keepaliveMs?: number
}

/** The event names, and what each one's `data` is. */
export const EVENT_TYPES = {
  hello: '{simulated, name, role}: the stream is open (read the current state with GETs now)',
  node: 'a node (as GET /v1/nodes/{node}, last known state: no device read) whose state, plugs or fence hold changed',
  device: 'a device (as GET /v1/devices/{id}) after a probe',
  operation:
    '{phase, operation}: phase started (no results yet), progress (results: the node that finished) or finished (every result)',
  heartbeat:
    '{at, event}: a membership event (as GET /v1/heartbeat/events), when the gateway runs a heartbeat',
} as const

/** A slow reader is dropped past this much unsent data (it reconnects and reads afresh). */
const MAX_BUFFERED = 1024 * 1024
/** Node changes within this window go out once (a bulk status touches many plugs at once). */
const COALESCE_MS = 25

export const eventsRoutes: FastifyPluginAsyncTypebox<EventsOptions> = async (app, o) => {
  const { engine } = o
  const open = new Set<ServerResponse>()
  // the server waits for open connections when it closes: end the streams first
  app.addHook('preClose', async () => {
    for (const res of open) res.end()
  })

  app.get(
    '/events',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Live events (server-sent events): nodes, devices, operations, heartbeat',
        description: `A text/event-stream that stays open. Events (\`event:\` name, \`data:\` one JSON line): ${Object.entries(
          EVENT_TYPES,
        )
          .map(([k, v]) => `\`${k}\` ${v}`)
          .join('; ')}. Filtered by the token: nodes and operations outside its allow-list are left out.`,
        tags: ['system'],
        produces: ['text/event-stream'],
        response: {
          200: Type.String({ description: 'text/event-stream: `event: NAME` and `data: JSON` lines' }),
          ...errors(401, 403),
        },
      },
    },
    async (req, reply) => {
      const who = principal(req)
      const res = reply.raw
      reply.hijack()
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        // the stream holds its connection: when it ends, so does the connection (a gateway that
        // closes must not wait for a keep-alive connection that went idle after its close began)
        connection: 'close',
        ...(o.simulated ? { 'fencegate-simulated': 'true' } : {}),
      })
      open.add(res)
      const send = (event: string, data: unknown) => {
        if (res.writableEnded) return
        if (res.writableLength > MAX_BUFFERED) {
          res.end()
          return
        }
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
      }
      send('hello', { simulated: o.simulated, name: who.name, role: who.role })

      const pending = new Set<string>()
      let flush: NodeJS.Timeout | undefined
      const flushNodes = () => {
        flush = undefined
        const names = [...pending]
        pending.clear()
        for (const s of engine.cached(names)) send('node', nodeView(engine.node(s.node), s))
      }
      const onEngine = (e: EngineEvent) => {
        if (e.type === 'node') {
          if (!mayUse(who, e.node)) return
          pending.add(e.node)
          flush ??= setTimeout(flushNodes, COALESCE_MS)
        } else if (e.type === 'device') send('device', engine.device(e.id))
        else if (mayUseAll(who, e.op.nodes)) send('operation', { phase: e.phase, operation: e.op })
      }
      const onHeartbeat = (event: unknown, at: string) => send('heartbeat', { at, event })
      const unsubscribe = engine.onEvent(onEngine)
      o.heartbeat?.on('event', onHeartbeat)
      const keepalive = setInterval(() => {
        if (!res.writableEnded) res.write(': keepalive\n\n')
      }, o.keepaliveMs ?? 15_000)
      keepalive.unref()

      res.on('close', () => {
        open.delete(res)
        unsubscribe()
        o.heartbeat?.off('event', onHeartbeat)
        clearInterval(keepalive)
        if (flush) clearTimeout(flush)
      })
    },
  )
}

function mayUseAll(who: Principal, nodes: readonly string[]): boolean {
  return nodes.every((n) => mayUse(who, n))
}
