/** /v1/devices: device health (last probe, last error, latency, counts), and probe now. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principal } from '../auth.js'
import type { ApiContext } from '../context.js'
import { DeviceParams, DeviceReply, DevicesReply, errors } from '../schemas.js'

export const devicesRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const { engine } = ctx

  app.get(
    '/devices',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Every device and its health',
        tags: ['devices'],
        response: { 200: DevicesReply, ...errors(401, 403) },
      },
    },
    async () => ({ simulated: ctx.simulated, devices: engine.devices() }),
  )

  app.get(
    '/devices/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One device and its health',
        tags: ['devices'],
        params: DeviceParams,
        response: { 200: DeviceReply, ...errors(401, 403, 404) },
      },
    },
    async (req) => ({ simulated: ctx.simulated, device: engine.device(req.params.id) }),
  )

  app.post(
    '/devices/:id/probe',
    {
      config: { role: 'operator', does: 'probe devices' },
      schema: {
        summary: 'Probe the device now (a status read of every configured plug)',
        tags: ['devices'],
        params: DeviceParams,
        response: { 200: DeviceReply, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      const who = principal(req)
      const device = await engine.probe(req.params.id, {
        initiator: { name: who.name, role: who.role, via: 'api' },
      })
      return { simulated: ctx.simulated, device }
    },
  )
}
