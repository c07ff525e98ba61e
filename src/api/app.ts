/**
 * buildApp(deps): the REST API as a fastify instance, without listening (server.ts listens;
 * tests use app.inject()). Route plugins stay encapsulated under /v1; auth, errors and the
 * OpenAPI document sit at the root.
 */
import swagger from '@fastify/swagger'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { API_DEFAULTS, type GatewayConfig } from '../config/config.js'
import { authPlugin } from './auth.js'
import type { ApiContext, GatewayEngine } from './context.js'
import { errorHandler, notFoundHandler } from './errors.js'
import { IdempotencyStore, type IdempotencyOptions } from './idempotency.js'
import { InFlight } from './inflight.js'
import { Metrics } from './metrics.js'
import { devicesRoutes } from './routes/devices.js'
import { historyRoutes } from './routes/history.js'
import { clusterRoutes } from './routes/cluster.js'
import { replicaMetrics } from '../coordination/metrics.js'
import { nodesRoutes } from './routes/nodes.js'
import { operationsRoutes } from './routes/operations.js'
import { powerRoutes } from './routes/power.js'
import { systemRoutes } from './routes/system.js'
import { dashboardPlugin } from './dashboard.js'
import { eventsRoutes } from './routes/events.js'
import { heartbeatMetrics } from '../heartbeat/metrics.js'
import { heartbeatRoutes } from '../heartbeat/routes.js'
import type { HeartbeatService } from '../heartbeat/service.js'

export const API_VERSION = '1.0.0'

export interface AppDeps {
  engine: GatewayEngine
  /** The tokens (hashes, roles, allow-lists), and the bounds on what a token has in flight. */
  config: Pick<GatewayConfig, 'tokens'> & Partial<Pick<GatewayConfig, 'api'>>
  /** A pino logger; absent = silent. Authorization headers are redacted either way. */
  log?: FastifyBaseLogger
  /** TLS: PEM contents (server.ts reads them from the config's files). */
  https?: { cert: string | Buffer; key: string | Buffer }
  idempotency?: IdempotencyOptions
  /** Process metrics (CPU, memory, event loop) in /metrics; default on. */
  processMetrics?: boolean
  /** The cluster heartbeat, when the config has one: /v1/heartbeat and its metrics. */
  heartbeat?: HeartbeatService
  /** The web dashboard under `/` (default on; its built assets: src/api/dashboard.ts). */
  dashboard?: boolean | { dir: string }
}

export type App = FastifyInstance

export async function buildApp(deps: AppDeps): Promise<App> {
  const { engine } = deps
  const simulated = engine.simulated
  const app = Fastify({
    ...(deps.log
      ? // never log a token, whatever a serializer is later told to include
        { loggerInstance: deps.log.child({}, { redact: REDACT }) as FastifyBaseLogger }
      : { logger: false }),
    ...(deps.https ? { https: { cert: deps.https.cert, key: deps.https.key } } : {}),
    bodyLimit: 64 * 1024,
    ajv: {
      // strict input: no type coercion, no silent removal of unknown fields (a typo in
      // `action` of a fence must not fall back to the default action)
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App

  const ctx: ApiContext = {
    engine,
    metrics: new Metrics(engine, { processMetrics: deps.processMetrics ?? true }),
    idempotency: new IdempotencyStore(deps.idempotency),
    inflight: new InFlight({
      perToken: (deps.config.api ?? API_DEFAULTS).maxInFlightPerToken,
      perNode: (deps.config.api ?? API_DEFAULTS).maxInFlightPerNode,
    }),
    simulated,
  }
  app.addHook('onClose', async () => ctx.metrics.close())
  if (deps.heartbeat) {
    const unsubscribe = heartbeatMetrics(ctx.metrics.registry, deps.heartbeat)
    app.addHook('onClose', async () => unsubscribe())
  }
  if (engine.coordinator?.mode === 'etcd') replicaMetrics(ctx.metrics.registry, engine.coordinator)

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'fencegate',
        version: API_VERSION,
        description:
          'Fencing (STONITH) and power-control gateway. Every error answer is {statusCode, error, code, message}. Mutating POSTs accept an Idempotency-Key header and ?wait=false.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a fencegate token' } },
      },
      tags: ['nodes', 'power', 'devices', 'operations', 'history', 'heartbeat', 'system'].map((name) => ({
        name,
      })),
    },
    // routes that need a token say so in the document
    transform: ({ schema, url, route }) => {
      const role = route.config?.role
      if (!role || !schema) return { schema, url }
      return {
        schema: {
          ...schema,
          security: [{ bearer: [] }],
          description: `${schema.description ? `${schema.description} ` : ''}Needs role ${role}.`,
        },
        url,
      }
    },
  })

  await app.register(authPlugin(deps.config.tokens))
  app.setErrorHandler(errorHandler(simulated))
  app.setNotFoundHandler(notFoundHandler(simulated))
  if (simulated)
    app.addHook('onSend', async (_req, reply) => {
      reply.header('fencegate-simulated', 'true')
    })

  await app.register(systemRoutes, ctx)
  await app.register(
    async (v1) => {
      await v1.register(nodesRoutes, ctx)
      await v1.register(powerRoutes, ctx)
      await v1.register(devicesRoutes, ctx)
      await v1.register(operationsRoutes, ctx)
      await v1.register(historyRoutes, ctx)
      await v1.register(clusterRoutes, ctx)
      if (deps.heartbeat) await v1.register(heartbeatRoutes, { heartbeat: deps.heartbeat, simulated })
      // the live event stream and the web dashboard (issue 15)
      await v1.register(eventsRoutes, { ...ctx, ...(deps.heartbeat ? { heartbeat: deps.heartbeat } : {}) })
    },
    { prefix: '/v1' },
  )
  if (deps.dashboard !== false)
    await app.register(dashboardPlugin, typeof deps.dashboard === 'object' ? deps.dashboard : {})
  return app
}

const REDACT = {
  paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token'],
  censor: '[redacted]',
}
