/** /v1/operations/{id}: an operation, running or finished (the gateway keeps the last 1000). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { FenceError } from '../../../core/errors.js'
import { assertNodes, principal } from '../auth.js'
import type { ApiContext } from '../context.js'
import { OperationParams, OperationReply, errors } from '../schemas.js'

export const operationsRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  app.get(
    '/operations/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One operation (poll it after a 202)',
        tags: ['operations'],
        params: OperationParams,
        response: { 200: OperationReply, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      const op = ctx.engine.operation(req.params.id) ?? (await ctx.engine.findOperation?.(req.params.id))
      if (!op)
        throw new FenceError(
          'UNKNOWN_OPERATION',
          `no operation '${req.params.id}' (the gateway keeps the last 1000; see /v1/history)`,
        )
      assertNodes(principal(req), op.nodes)
      return { simulated: ctx.simulated, operation: op }
    },
  )
}
