/**
 * docs/api.md from the OpenAPI document: one section per route (role, parameters, body
 * fields, answers), after a hand-written introduction. test/api/api-doc.test.ts keeps the
 * committed file in step with the routes (UPDATE_API_DOC=1 rewrites it).
 */

interface Schema {
  type?: string
  enum?: unknown[]
  description?: string
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  minimum?: number
  maximum?: number
  maxLength?: number
  pattern?: string
  anyOf?: Schema[]
  const?: unknown
}

interface OpenApiOperation {
  summary?: string
  description?: string
  security?: unknown[]
  tags?: string[]
  parameters?: { in: string; name: string; required?: boolean; schema?: Schema; description?: string }[]
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> }
  responses: Record<string, { description?: string; content?: Record<string, { schema: Schema }> }>
}

export interface OpenApiDoc {
  info: { title: string; version: string }
  paths: Record<string, Record<string, OpenApiOperation>>
}

const INTRO = `# fencegate REST API

Generated from the OpenAPI document the gateway serves at \`/openapi.json\`
(\`UPDATE_API_DOC=1 npx vitest run test/api/api-doc.test.ts\` rewrites this file).

Base URL: \`http://127.0.0.1:8443\` by default (\`listen:\` in the config; \`https://\` when the
config has \`tls: {cert, key}\`).

## Tokens and roles

Send \`Authorization: Bearer <token>\`. The config keeps only \`sha256:<hex>\` hashes of tokens
(\`auth.tokens: [{name, hash, role, nodes?}]\`); a presented token is hashed and compared in
constant time. Roles, each including the one before:

| role | may |
|---|---|
| viewer | read: nodes, devices, operations, history, metrics |
| operator | + power on/off/cycle/reboot, bulk power, probe a device |
| fencer | + fence; and power on a node under fence hold |

A token with \`nodes:\` (a hostlist) sees and acts on those nodes only: naming another node is
403 (whether it exists or not); lists and history are filtered.

## With curl

The demo (\`npx fencegate serve --demo\`) leaves its URL and token in \`~/.config/fencegate/\`:

\`\`\`sh
URL=$(cat ~/.config/fencegate/url); TOKEN=$(cat ~/.config/fencegate/token)
curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/nodes?targets=demo-[1-4]"
curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/nodes/demo-1"                  # read now
curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
     -d '{"action": "off", "timeout": 30}' "$URL/v1/nodes/demo-1/power"
curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
     -H "Idempotency-Key: $(uuidgen)" -d '{"action": "reboot"}' "$URL/v1/nodes/demo-3/fence"
curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/history?node=demo-3&limit=5"
\`\`\`

A \`POST\` with a body needs \`-H 'Content-Type: application/json'\`: curl's \`-d\` alone sends
\`application/x-www-form-urlencoded\`, which is refused with \`415 UNSUPPORTED_MEDIA_TYPE\`.

## Errors

Every error answer has the same shape, with the HTTP status of its code:

\`\`\`json
{"statusCode": 400, "error": "Bad Request", "code": "BAD_REQUEST",
 "message": "body.action: expected one of \\"on\\", \\"off\\", \\"cycle\\", \\"reboot\\", got \\"fly\\"",
 "field": "body.action", "simulated": false}
\`\`\`

| status | code | when |
|---|---|---|
| 400 | BAD_REQUEST | a malformed body or query (the field and what was expected are named) |
| 400 | HOSTLIST_SYNTAX | a malformed hostlist (the character is named), or one past the limits: more than 100000 names (counted over all terms, before repeats are dropped) or a number of more than 15 digits |
| 401 | UNAUTHORIZED | no token, or a token the gateway does not know |
| 403 | FORBIDDEN | the token's role or node list does not allow it |
| 404 | UNKNOWN_NODE, UNKNOWN_DEVICE, UNKNOWN_OPERATION, NOT_FOUND | no such thing (or route) |
| 409 | FENCE_HOLD | \`on\` of a node being fenced or fenced less than \`fenceHold\` ago (fencers excepted) |
| 409 | PREEMPTED | a fence of the node began while this operation ran: it was stopped before its next command (the message names the fence) |
| 409 | NOTHING_TO_CONFIRM | \`confirm\` of a node with no fence waiting for a confirmation and no failed fence |
| 415 | UNSUPPORTED_MEDIA_TYPE | a \`POST\` with a body but without \`Content-Type: application/json\` (send the body as JSON, with that header) |
| 429 | QUEUE_FULL | too many commands already wait for one device (fence work is never refused) |
| 429 | TOO_MANY_OPERATIONS | the token already has \`api.maxInFlightPerToken\` operations in flight, or \`api.maxInFlightPerNode\` on one node (the message names the bound); fence requests count in a budget of their own, so power traffic never refuses a fence. Header \`Retry-After: 1\` |
| 5xx | ENGINE_CLOSED, INTERNAL… | the gateway is stopping, or a bug (see its log) |

A refused request (any 4xx) leaves nothing in the journal and touches no device.

## Operations

\`POST\` of power, fence and bulk answers \`200 {simulated, operation}\` when the operation has
ended — **whether it succeeded or failed**: read \`operation.status\` (\`succeeded\` | \`failed\`)
and \`operation.results[].outcome\`. A node counts as off only when read back off.

- \`?wait=false\`: answer \`202\` at once with \`status: "running"\`, then poll
  \`GET /v1/operations/{id}\`.
- \`Idempotency-Key: <up to 200 characters>\`: a retry with the same key (same token) returns
  the first operation (same id, header \`Idempotent-Replayed: true\`) instead of acting twice.
  Keys are kept 24 h. The same key with another request is 400.
- A waiting caller that hangs up without an Idempotency-Key stops its operation: no further
  mutating step is issued. With a key, the operation runs on.
- \`timeout\` (seconds, 1–3600) in the body is the operation's deadline.
- A token may have at most \`api.maxInFlightPerToken\` operations in flight (default 64), and
  \`api.maxInFlightPerNode\` on any one node (default 4), counted from the request until the
  operation ends, whether the caller waits or not; past that the request is refused with
  \`429 TOO_MANY_OPERATIONS\` and nothing is started. Fence requests have a budget of their own
  in each token, so power requests (of any token) never use up the room fences need.

In the demo (\`fencegate serve --demo\`) every answer has \`"simulated": true\` and the header
\`Fencegate-Simulated: true\`.

## Live events

\`GET /v1/events\` (role viewer) stays open and sends what happens as
[server-sent events](https://html.spec.whatwg.org/multipage/server-sent-events.html): an
\`event:\` line (the name) and a \`data:\` line (one JSON object) per event, a blank line after
each, and a \`: keepalive\` comment every 15 s. Each event carries what the token could read with
a GET: nodes outside its \`nodes:\` allow-list, and operations on them, are left out. Nothing is
replayed: on (re)connect, read the current state with GETs after \`hello\`.

| event | data |
|---|---|
| \`hello\` | \`{simulated, name, role}\`: the stream is open |
| \`node\` | a node as \`GET /v1/nodes\` lists it (last known state, plugs, \`fenceHold\`, \`awaitingConfirmation\`), when any of that changed |
| \`device\` | a device as \`GET /v1/devices/{id}\` answers, after each probe |
| \`operation\` | \`{phase, operation}\`: \`started\` (no results yet), \`progress\` (\`results\` holds the node that just finished), \`finished\` (every result) |
| \`heartbeat\` | \`{at, event}\`: a membership event, as \`GET /v1/heartbeat/events\` (gateways with a heartbeat) |

\`\`\`sh
# everything, as it comes (-N: no buffering)
curl -N -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8443/v1/events

# each operation as it ends: id, action, nodes, status
curl -sN -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8443/v1/events \\
  | sed -un 's/^data: //p' | jq -c 'select(.phase == "finished") | .operation | {id, action, nodes, status}'
\`\`\`

\`\`\`text
event: hello
data: {"simulated":true,"name":"demo","role":"fencer"}

event: operation
data: {"phase":"started","operation":{"id":"7c0e…","kind":"power","action":"off","nodes":["demo-1"],"status":"running","results":[],…}}

event: node
data: {"name":"demo-1","state":"off","plugs":[{"device":"demo-pdu-a","plug":"1","level":1,"state":"off"}],…}
\`\`\`

A browser's \`EventSource\` cannot send an \`Authorization\` header: read the stream with
\`fetch()\` (as the dashboard does). Tokens never go in a URL.

## The web dashboard

\`GET /\` serves the dashboard (no token needed for the page itself; it signs in against
\`/v1\` with a token kept in the browser tab's session storage): see docs/dashboard.md.

## Routes
`

export function renderApiDoc(doc: OpenApiDoc): string {
  const out = [INTRO]
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods)) out.push(route(method.toUpperCase(), path, op))
  out.push(shapes(doc))
  return `${out.join('\n').trimEnd()}\n`
}

/** The answer objects, field by field, taken from the response schemas. */
function shapes(doc: OpenApiDoc): string {
  const ok = (path: string, method: string) =>
    doc.paths[path]?.[method]?.responses['200']?.content?.['application/json']?.schema
  const operation = ok('/v1/nodes/{node}/power', 'post')?.properties?.operation
  const result = operation?.properties?.results?.items
  const list: [string, Schema | undefined][] = [
    ['Operation', operation],
    ['NodeResult (operation.results[])', result],
    [
      'Attempt (results[].attempts[]: every step taken, failures included)',
      result?.properties?.attempts?.items,
    ],
    ['Node (GET /v1/nodes, /v1/nodes/{node})', ok('/v1/nodes/{node}', 'get')?.properties?.node],
    ['DeviceHealth (GET /v1/devices, /v1/devices/{id})', ok('/v1/devices/{id}', 'get')?.properties?.device],
    ['HistoryEntry (GET /v1/history)', ok('/v1/history', 'get')?.properties?.entries?.items],
  ]
  const lines = ['## Answer shapes', '']
  for (const [title, s] of list) {
    if (!s?.properties) continue
    lines.push(`### ${title}`, '', '| field | type | |', '|---|---|---|')
    for (const [name, f] of Object.entries(s.properties))
      lines.push(
        `| \`${name}\` | ${typeOf(f) || 'object'} | ${s.required?.includes(name) ? '' : 'optional. '}${cell(f.description ?? '')} |`,
      )
    lines.push('')
  }
  return lines.join('\n')
}

function route(method: string, path: string, op: OpenApiOperation): string {
  const lines = [`### ${method} ${path}`, '']
  if (op.summary) lines.push(`${op.summary}.`, '')
  const role = /Needs role (\w+)/.exec(op.description ?? '')?.[1]
  lines.push(role ? `Token: role **${role}** or above.` : 'No token needed.', '')
  const desc = (op.description ?? '').replace(/\s*Needs role \w+\.$/, '').trim()
  if (desc) lines.push(desc, '')
  const params = (op.parameters ?? []).filter((p) => p.in !== 'header' || p.name === 'idempotency-key')
  if (params.length) {
    lines.push('| parameter | in | type | |', '|---|---|---|---|')
    for (const p of params)
      lines.push(
        `| \`${p.name}\` | ${p.in} | ${typeOf(p.schema)} | ${p.required ? 'required. ' : ''}${cell(p.schema?.description ?? p.description ?? '')} |`,
      )
    lines.push('')
  }
  const body = op.requestBody?.content['application/json']?.schema
  if (body?.properties) {
    lines.push(`Body (JSON${op.requestBody?.required === false ? ', optional' : ''}):`, '')
    lines.push('| field | type | |', '|---|---|---|')
    for (const [name, s] of Object.entries(body.properties))
      lines.push(
        `| \`${name}\` | ${typeOf(s)} | ${body.required?.includes(name) ? 'required. ' : ''}${cell(s.description ?? '')} |`,
      )
    lines.push('')
  }
  const answers = Object.entries(op.responses).map(([status, r]) => {
    const s = r.content?.['application/json']?.schema ?? r.content?.['text/plain']?.schema
    const shape =
      status.startsWith('2') && s?.properties ? ` \`{${Object.keys(s.properties).join(', ')}}\`` : ''
    return `${status}${shape}`
  })
  lines.push(`Answers: ${answers.join(' · ')}`, '')
  return lines.join('\n')
}

function typeOf(s: Schema | undefined): string {
  if (!s) return ''
  if (s.enum && s.enum.length > 8) return 'string'
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ')
  if (s.anyOf)
    return s.anyOf.map((x) => (x.const !== undefined ? `\`${String(x.const)}\`` : typeOf(x))).join(' \\| ')
  if (s.type === 'number' && s.minimum !== undefined) return `number ${s.minimum}–${s.maximum ?? '∞'}`
  if (s.type === 'string' && s.maxLength !== undefined) return `string (≤ ${s.maxLength})`
  if (s.type === 'array' && s.items) return `array of ${typeOf(s.items) || 'object'}`
  return s.type ?? ''
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}
