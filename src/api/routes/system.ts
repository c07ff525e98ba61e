/** /healthz (no token), /metrics (viewer), /openapi.json (no token). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { ApiContext } from '../context.js'
import { HealthReply, errors } from '../schemas.js'

export const systemRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'The gateway answers (no token needed). Device health is under /v1/devices',
        tags: ['system'],
        response: { 200: HealthReply },
      },
    },
    async () => ({ status: 'ok' as const, simulated: ctx.simulated }),
  )

  app.get(
    '/metrics',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Prometheus metrics: operations, latencies, device health, process',
        tags: ['system'],
        produces: ['text/plain'],
        response: {
          200: Type.String({ description: 'Prometheus text exposition format' }),
          ...errors(401, 403),
        },
      },
    },
    async (_req, reply) => {
      reply.type(ctx.metrics.contentType)
      return ctx.metrics.text()
    },
  )

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
