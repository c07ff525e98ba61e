/**
 * The mutating routes: power one node, fence one node, power many nodes (a hostlist).
 * Every input is checked (fields, hostlist, token, node names) before the engine is called,
 * so a refused request leaves nothing in the journal.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principal } from '../auth.js'
import { type ApiContext, checkNodes, expandField } from '../context.js'
import { runOperation } from '../run-operation.js'
import {
  BulkBody,
  ConfirmBody,
  FenceBody,
  IdempotencyHeaders,
  NodeParams,
  OperationReply,
  PowerBody,
  WaitQuery,
  errors,
} from '../schemas.js'

const accepted = { 202: OperationReply }

export const powerRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const { engine } = ctx

  app.post(
    '/nodes/:node/power',
    {
      config: { role: 'operator', does: 'power nodes' },
      schema: {
        summary: 'Power one node on, off, cycle or reboot (verified by read-back)',
        description:
          'The answer is 200 whether the operation succeeded or failed: read operation.status and results[].outcome.',
        tags: ['power'],
        params: NodeParams,
        querystring: WaitQuery,
        headers: IdempotencyHeaders,
        body: PowerBody,
        response: { 200: OperationReply, ...accepted, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (req, reply) => {
      const name = req.params.node
      checkNodes(engine, principal(req), [name])
      return runOperation(req, reply, ctx, req.body.timeout, { budget: 'power', nodes: [name] }, (r) =>
        engine.power(name, req.body.action, r),
      )
    },
  )

  app.post(
    '/nodes/:node/fence',
    {
      config: { role: 'fencer', does: 'fence nodes' },
      schema: {
        summary:
          "Fence one node: hard off, verified (reboot: then on). Default action: the node's fenceAction",
        description:
          'A fence of a node already being fenced joins that operation. The answer is 200 whether the fence succeeded or failed: read operation.status.',
        tags: ['power'],
        params: NodeParams,
        querystring: WaitQuery,
        headers: IdempotencyHeaders,
        body: FenceBody,
        response: { 200: OperationReply, ...accepted, ...errors(400, 401, 403, 404, 429) },
      },
      // the body is optional here (every field is): no body means the node's fenceAction
      preValidation: async (req) => {
        req.body ??= {}
      },
    },
    async (req, reply) => {
      const name = req.params.node
      checkNodes(engine, principal(req), [name])
      const body = req.body
      return runOperation(req, reply, ctx, body.timeout, { budget: 'fence', nodes: [name] }, (r) =>
        engine.fence(name, body.action, r),
      )
    },
  )

  app.post(
    '/nodes/:node/confirm',
    {
      config: { role: 'fencer', does: 'confirm nodes off' },
      schema: {
        summary: 'Confirm by hand that a node is off (meatware): completes a fence that waits or failed',
        description:
          'For when every device of a node has failed and a person has checked the machine. Completes a fence waiting at its manual level (its caller gets the result), or records the confirmation of the last fence of the node if it failed. The result says outcome confirmed-by-operator, with who and why: never a device read-back. 409 NOTHING_TO_CONFIRM when no fence of the node waits or has failed.',
        tags: ['power'],
        params: NodeParams,
        headers: IdempotencyHeaders,
        body: ConfirmBody,
        response: { 200: OperationReply, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (req, reply) => {
      const name = req.params.node
      checkNodes(engine, principal(req), [name])
      const { reason } = req.body
      return runOperation(req, reply, ctx, req.body.timeout, { budget: 'fence', nodes: [name] }, (r) =>
        engine.confirm(name, { ...r, reason }),
      )
    },
  )

  app.post(
    '/power',
    {
      config: { role: 'operator', does: 'power nodes' },
      schema: {
        summary: 'Power many nodes (a hostlist): devices in parallel, on staggered per device',
        tags: ['power'],
        querystring: WaitQuery,
        headers: IdempotencyHeaders,
        body: BulkBody,
        response: { 200: OperationReply, ...accepted, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (req, reply) => {
      const names = expandField('body.targets', req.body.targets)
      checkNodes(engine, principal(req), names)
      return runOperation(req, reply, ctx, req.body.timeout, { budget: 'power', nodes: names }, (r) =>
        engine.bulk(names, req.body.action, r),
      )
    },
  )
}
