/**
 * JSON schemas (typebox) of every request and response of the REST API. They validate the
 * requests, shape the responses (fastify serialises through them, so nothing undeclared
 * leaks) and make the OpenAPI document. The shapes follow src/engine/types.ts.
 */
import { type Static, Type } from 'typebox'
import { ERRORS } from '../../core/errors.js'

export const NODE_ACTIONS = ['on', 'off', 'cycle', 'reboot'] as const
export const FENCE_ACTIONS = ['off', 'reboot'] as const

const PowerState = Type.Enum(['on', 'off', 'unknown'], { description: '`unknown` is never off' })
const ErrorCode = Type.Enum(Object.keys(ERRORS), { description: 'a code of the error table' })
const CodedError = Type.Object({ code: ErrorCode, message: Type.String() })
const Role = Type.Enum(['viewer', 'operator', 'fencer'])
const Simulated = Type.Boolean({ description: 'true when the gateway runs on mock devices (the demo)' })

// ---- shared pieces ----------------------------------------------------------------------

export const ErrorBody = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String({ description: 'the HTTP reason phrase' }),
    code: Type.String({ description: 'a code of the error table (core/errors.ts)' }),
    message: Type.String({ description: 'what went wrong, which field, what was expected' }),
    field: Type.Optional(Type.String({ description: 'the request field at fault, e.g. body.action' })),
    simulated: Type.Optional(Simulated),
  },
  { description: 'every error answer' },
)

/** Response schemas for the error statuses a route can answer. */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  const out: Record<number, typeof ErrorBody> = {}
  for (const s of [...statuses, 500, 503]) out[s] = ErrorBody
  return out
}

export const Initiator = Type.Object({
  name: Type.String({ description: 'token name, cli, heartbeat…' }),
  role: Role,
  via: Type.String({ description: 'front door: api, cli, agent, heartbeat' }),
})

export const PlugRef = Type.Object({ device: Type.String(), plug: Type.String() })

export const Attempt = Type.Object({
  level: Type.Integer({ description: 'fencing level, 1-based (0: a read of every level)' }),
  device: Type.String(),
  plug: Type.String(),
  step: Type.Enum(['on', 'off', 'cycle', 'cancel', 'status', 'verify', 'confirm']),
  outcome: Type.Enum(['ok', 'failed']),
  state: Type.Optional(PowerState),
  code: Type.Optional(ErrorCode),
  message: Type.Optional(Type.String()),
  tries: Type.Integer(),
  durationMs: Type.Number(),
})

const NODE_OUTCOMES = ['success', 'failed', 'unverified', 'confirmed-by-operator'] as const
const OPERATION_KINDS = ['status', 'power', 'fence', 'bulk', 'confirm'] as const

export const Confirmation = Type.Object(
  {
    by: Type.String({ description: 'the token (or cli user) that confirmed' }),
    role: Role,
    reason: Type.String(),
    at: Type.String({ description: 'ISO time' }),
  },
  { description: 'a person confirmed the node off by hand (never a device read-back)' },
)

export const NodeResult = Type.Object({
  node: Type.String(),
  action: Type.Enum(NODE_ACTIONS),
  outcome: Type.Enum(NODE_OUTCOMES, {
    description:
      '`unverified`: sent to a device that cannot read back (operator power only); `confirmed-by-operator`: a person confirmed the node off (manual level or `confirm`)',
  }),
  state: PowerState,
  level: Type.Optional(Type.Integer()),
  onVerified: Type.Optional(Type.Boolean({ description: 'reboot/cycle: power-on read back on' })),
  onError: Type.Optional(CodedError),
  error: Type.Optional(CodedError),
  already: Type.Optional(Type.Boolean({ description: 'already in the wanted state (read back)' })),
  joined: Type.Optional(Type.Boolean({ description: 'joined a fence already in flight' })),
  confirmation: Type.Optional(Confirmation),
  attempts: Type.Array(Attempt),
  durationMs: Type.Number(),
})

export const Operation = Type.Object({
  id: Type.String(),
  kind: Type.Enum(OPERATION_KINDS),
  action: Type.Enum([...NODE_ACTIONS, 'status']),
  nodes: Type.Array(Type.String()),
  initiator: Initiator,
  startedAt: Type.String({ description: 'ISO time' }),
  finishedAt: Type.Optional(Type.String()),
  status: Type.Enum(['running', 'succeeded', 'failed']),
  results: Type.Array(NodeResult, { description: 'one per node, filled when the operation ends' }),
  simulated: Simulated,
})

export const PlugStatus = Type.Object({
  device: Type.String(),
  plug: Type.String(),
  level: Type.Integer(),
  state: PowerState,
  error: Type.Optional(CodedError),
})

export const NodeItem = Type.Object({
  name: Type.String(),
  state: PowerState,
  plugs: Type.Array(PlugStatus),
  awaitingConfirmation: Type.Optional(
    Type.Object(
      { op: Type.String(), since: Type.String() },
      { description: 'a fence of the node waits at its manual level for `confirm`' },
    ),
  ),
  fenceHold: Type.Optional(
    Type.Object(
      { until: Type.String({ description: 'ISO time' }) },
      { description: 'the node was fenced: `on` is refused (except to fencers) until then (fenceHold)' },
    ),
  ),
  levels: Type.Array(Type.Array(PlugRef), { description: 'fencing levels, first tried first' }),
  fenceAction: Type.Enum(FENCE_ACTIONS),
  powerWaitMs: Type.Number(),
  group: Type.Optional(
    Type.String({ description: "the config's group: label (the dashboard groups by it)" }),
  ),
})

export const DeviceHealth = Type.Object({
  id: Type.String(),
  driver: Type.String(),
  state: Type.Enum(['ok', 'failing', 'unknown']),
  lastProbeAt: Type.Optional(Type.String()),
  lastOkAt: Type.Optional(Type.String()),
  lastError: Type.Optional(Type.Object({ code: ErrorCode, message: Type.String(), at: Type.String() })),
  latencyMs: Type.Optional(Type.Number({ description: 'latency of the last successful probe' })),
  counts: Type.Object({
    probes: Type.Integer(),
    probeFailures: Type.Integer(),
    commands: Type.Integer(),
    commandFailures: Type.Integer(),
  }),
  queued: Type.Integer({ description: 'commands waiting for this device' }),
  plugs: Type.Integer(),
  verifies: Type.Boolean({
    description:
      'false: an unverified device (cannot read its outlets back): operator power only, never fencing',
  }),
})

export const HistoryEntry = Type.Object({
  op: Type.String(),
  kind: Type.Enum(OPERATION_KINDS),
  action: Type.Enum([...NODE_ACTIONS, 'status']),
  node: Type.String(),
  initiator: Initiator,
  startedAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
  outcome: Type.Enum([...NODE_OUTCOMES, 'unknown', 'running'], {
    description:
      '`running`: under way now; `unknown`: an intent without a result (the gateway stopped mid-operation)',
  }),
  level: Type.Optional(Type.Integer()),
  onVerified: Type.Optional(Type.Boolean()),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  confirmation: Type.Optional(Confirmation),
})

// ---- requests ---------------------------------------------------------------------------

const Timeout = Type.Number({
  minimum: 1,
  maximum: 3600,
  description: 'the deadline of the operation, in seconds (default: engine.defaultTimeout)',
})

export const PowerBody = Type.Object(
  { action: Type.Enum(NODE_ACTIONS), timeout: Type.Optional(Timeout) },
  { additionalProperties: false },
)

export const FenceBody = Type.Object(
  {
    action: Type.Optional(
      Type.Enum(FENCE_ACTIONS, { description: "default: the node's fenceAction (off unless configured)" }),
    ),
    timeout: Type.Optional(Timeout),
  },
  { additionalProperties: false },
)

export const ConfirmBody = Type.Object(
  {
    reason: Type.String({
      minLength: 3,
      maxLength: 500,
      description: 'why you are sure the node is off (journaled, shown in history)',
    }),
    timeout: Type.Optional(Timeout),
  },
  { additionalProperties: false },
)

export const BulkBody = Type.Object(
  {
    targets: Type.String({ minLength: 1, maxLength: 4096, description: 'a hostlist, e.g. node[1-8,12]' }),
    action: Type.Enum(NODE_ACTIONS),
    timeout: Type.Optional(Timeout),
  },
  { additionalProperties: false },
)

const Bool = (description: string) => Type.Enum(['true', 'false'], { description })

export const WaitQuery = Type.Object(
  { wait: Type.Optional(Bool('false: answer 202 at once, poll /v1/operations/{id}')) },
  { additionalProperties: false },
)

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'a retry with the same key (same token) returns the first operation',
    }),
  ),
})

export const NodesQuery = Type.Object(
  {
    targets: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'a hostlist' })),
    refresh: Type.Optional(Bool('true: read the devices now (batched)')),
  },
  { additionalProperties: false },
)

export const HistoryQuery = Type.Object(
  {
    node: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    since: Type.Optional(Type.String({ description: 'ISO time' })),
    until: Type.Optional(Type.String({ description: 'ISO time' })),
    outcome: Type.Optional(Type.Enum([...NODE_OUTCOMES, 'unknown', 'running'])),
    limit: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,6}$',
        description: 'at most this many, newest first (1..100000, default 1000)',
      }),
    ),
  },
  { additionalProperties: false },
)

export const NodeParams = Type.Object({ node: Type.String({ maxLength: 256 }) })
export const DeviceParams = Type.Object({ id: Type.String({ maxLength: 256 }) })
export const OperationParams = Type.Object({ id: Type.String({ maxLength: 256 }) })

// ---- responses --------------------------------------------------------------------------

export const OperationReply = Type.Object({ simulated: Simulated, operation: Operation })
export const NodesReply = Type.Object({ simulated: Simulated, nodes: Type.Array(NodeItem) })
export const NodeReply = Type.Object({ simulated: Simulated, node: NodeItem })
export const DevicesReply = Type.Object({ simulated: Simulated, devices: Type.Array(DeviceHealth) })
export const DeviceReply = Type.Object({ simulated: Simulated, device: DeviceHealth })
export const HistoryReply = Type.Object({ simulated: Simulated, entries: Type.Array(HistoryEntry) })
export const WhoamiReply = Type.Object({
  simulated: Simulated,
  name: Type.String(),
  role: Role,
  nodes: Type.Array(Type.String(), { description: 'the configured nodes this token may act on' }),
})
export const HealthReply = Type.Object({ status: Type.Literal('ok'), simulated: Simulated })

export type NodeItemT = Static<typeof NodeItem>
