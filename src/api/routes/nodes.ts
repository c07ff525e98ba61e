/**
 * /v1/whoami, /v1/nodes, /v1/nodes/{node}: the nodes, their plugs and fencing levels, and
 * their state — cached (no device touched) or read now.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { mayUse, principal } from '../auth.js'
import { type ApiContext, checkNodes, expandField } from '../context.js'
import { abortOnClose } from '../disconnect.js'
import { nodeView } from '../views.js'
import { NodeParams, NodeReply, NodesQuery, NodesReply, WhoamiReply, errors } from '../schemas.js'

export const nodesRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const { engine } = ctx

  app.get(
    '/whoami',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The token: its name, role and the nodes it may act on',
        tags: ['nodes'],
        response: { 200: WhoamiReply, ...errors(401, 403) },
      },
    },
    async (req) => {
      const who = principal(req)
      return {
        simulated: ctx.simulated,
        name: who.name,
        role: who.role,
        nodes: engine
          .nodes()
          .map((n) => n.name)
          .filter((n) => mayUse(who, n)),
      }
    },
  )

  app.get(
    '/nodes',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'List nodes: last known states (no device touched), or read now with refresh=true',
        tags: ['nodes'],
        querystring: NodesQuery,
        response: { 200: NodesReply, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const who = principal(req)
      let names: string[]
      if (req.query.targets !== undefined) {
        names = expandField('querystring.targets', req.query.targets)
        checkNodes(engine, who, names)
      } else
        names = engine
          .nodes()
          .map((n) => n.name)
          .filter((n) => mayUse(who, n))
      const states =
        req.query.refresh === 'true'
          ? await engine.status(names, {
              initiator: { name: who.name, role: who.role, via: 'api' },
              signal: abortOnClose(reply),
            })
          : engine.cached(names)
      return {
        simulated: ctx.simulated,
        nodes: states.map((s) => nodeView(engine.node(s.node), s)),
      }
    },
  )

  app.get(
    '/nodes/:node',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One node, its plugs read now',
        tags: ['nodes'],
        params: NodeParams,
        response: { 200: NodeReply, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      const who = principal(req)
      const name = req.params.node
      checkNodes(engine, who, [name])
      const [status] = await engine.status([name], {
        initiator: { name: who.name, role: who.role, via: 'api' },
        signal: abortOnClose(reply),
      })
      return { simulated: ctx.simulated, node: nodeView(engine.node(name), status!) }
    },
  )
}
