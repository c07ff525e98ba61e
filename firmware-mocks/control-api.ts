import Fastify, { type FastifyInstance } from 'fastify'
import type { Lab } from './lab.js'
import { FAULT_TYPES, type FaultSpec } from './simulator.js'

/**
 * The lab's control API (loopback only): read devices, set an outlet's physical state, inject
 * and clear faults. It acts on the simulators directly, beside the wire protocols.
 */
export function buildControlApi(lab: Lab): FastifyInstance {
  const app = Fastify({ logger: false })
  const notFound = (id: string) => ({
    statusCode: 404,
    error: 'Not Found',
    message: `no device '${id}' in this lab`,
  })
  const describe = (id: string) => {
    const m = lab.device(id)!
    return {
      id,
      kind: m.kind,
      endpoint: m.endpoint,
      plugs: m.sim.describe(),
      faults: m.sim.faults.list(),
      ...(m.info?.() ?? {}),
      // after the mock's own facts: the session counts are the same field on every device
      sessions: m.sim.sessions.view(),
    }
  }
  const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } as const

  app.get('/devices', async () => [...lab.devices.keys()].map(describe))

  app.get<{ Params: { id: string } }>('/devices/:id', { schema: { params: idParam } }, async (req, reply) =>
    lab.device(req.params.id) ? describe(req.params.id) : reply.code(404).send(notFound(req.params.id)),
  )

  app.put<{ Params: { id: string; plug: string }; Body: { state: 'on' | 'off' } }>(
    '/devices/:id/plugs/:plug',
    {
      schema: {
        params: {
          type: 'object',
          required: ['id', 'plug'],
          properties: { id: { type: 'string' }, plug: { type: 'string' } },
        },
        body: {
          type: 'object',
          required: ['state'],
          additionalProperties: false,
          properties: { state: { enum: ['on', 'off'] } },
        },
      },
    },
    async (req, reply) => {
      const m = lab.device(req.params.id)
      if (!m) return reply.code(404).send(notFound(req.params.id))
      if (!m.sim.has(req.params.plug))
        return reply.code(404).send({
          statusCode: 404,
          error: 'Not Found',
          message: `device '${req.params.id}' has no plug '${req.params.plug}'`,
        })
      m.sim.setPhysical(req.params.plug, req.body.state)
      return describe(req.params.id)
    },
  )

  app.post<{ Params: { id: string }; Body: FaultSpec }>(
    '/devices/:id/faults',
    {
      schema: {
        params: idParam,
        body: {
          type: 'object',
          required: ['type'],
          additionalProperties: false,
          properties: {
            type: { enum: [...FAULT_TYPES] },
            ms: { type: 'integer', minimum: 0, maximum: 600_000 },
            count: { type: 'integer', minimum: 1 },
            plugs: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
    async (req, reply) => {
      const m = lab.device(req.params.id)
      if (!m) return reply.code(404).send(notFound(req.params.id))
      m.sim.faults.add(req.body)
      return reply.code(201).send(describe(req.params.id))
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/devices/:id/faults',
    { schema: { params: idParam } },
    async (req, reply) => {
      const m = lab.device(req.params.id)
      if (!m) return reply.code(404).send(notFound(req.params.id))
      m.sim.faults.clear()
      return describe(req.params.id)
    },
  )

  return app
}
