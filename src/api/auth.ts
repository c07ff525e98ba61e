/**
 * Bearer tokens: the config keeps only their SHA-256 hashes; a presented token is hashed and
 * compared with every configured hash in constant time (no early exit, so the timing tells
 * nothing about which or how many tokens matched). Roles: viewer < operator < fencer.
 * A token may carry an allow-list of nodes.
 */
import { timingSafeEqual, createHash } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TokenConfig } from '../config/config.js'
import { FenceError } from '../../core/errors.js'
import { compressHostlist } from '../../core/hostlist.js'
import type { Role } from '../../core/types.js'

/** The SHA-256 of a bearer token, as the config's `hash: sha256:…` holds it (tokens are long random strings: a fast hash is enough). */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

export interface Principal {
  name: string
  role: Role
  /** The nodes this token may see and act on; absent = all. */
  nodes?: ReadonlySet<string>
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, fencer: 2 }

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role a route needs; absent = no authentication (healthz, openapi). */
    role?: Role
    /** What the route does, for 403 messages: "power nodes". */
    does?: string
  }
  interface FastifyRequest {
    principal: Principal | null
  }
}

/** Who presents this Authorization header; throws UNAUTHORIZED with a clear message. */
export function authenticate(header: string | undefined, tokens: readonly TokenConfig[]): Principal {
  if (!header)
    throw new FenceError('UNAUTHORIZED', "missing token: send the header 'Authorization: Bearer <token>'")
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  if (!m) throw new FenceError('UNAUTHORIZED', "malformed Authorization header: expected 'Bearer <token>'")
  const digest = hashToken(m[1]!)
  let found: TokenConfig | undefined
  for (const t of tokens) {
    // every hash is compared, match or not
    const same = t.hash.length === digest.length && timingSafeEqual(t.hash, digest)
    if (same && !found) found = t
  }
  if (!found) throw new FenceError('UNAUTHORIZED', 'unknown token (the token is not in the gateway config)')
  return { name: found.name, role: found.role, ...(found.nodes ? { nodes: new Set(found.nodes) } : {}) }
}

export function hasRole(p: Principal, role: Role): boolean {
  return RANK[p.role] >= RANK[role]
}

/** 403 unless the token may act on every one of these nodes. */
export function assertNodes(p: Principal, names: readonly string[]): void {
  if (!p.nodes) return
  const allowed = p.nodes
  const bad = names.filter((n) => !allowed.has(n))
  if (bad.length)
    throw new FenceError(
      'FORBIDDEN',
      `token '${p.name}' may not act on ${bad.length === 1 ? 'node' : 'nodes'} ${compressHostlist(bad)} (allowed: ${compressHostlist([...allowed]) || 'none'})`,
    )
}

export function mayUse(p: Principal, node: string): boolean {
  return !p.nodes || p.nodes.has(node)
}

/**
 * The auth hook, at the root (the `skip-override` symbol keeps fastify from encapsulating it,
 * as fastify-plugin would): every route that declares `config.role` needs a token of at least
 * that role.
 */
export function authPlugin(tokens: readonly TokenConfig[]) {
  const plugin = async (app: FastifyInstance) => {
    app.decorateRequest('principal', null)
    app.addHook('onRequest', async (req: FastifyRequest) => {
      const { role, does } = req.routeOptions.config
      if (!role) return
      const p = authenticate(req.headers.authorization, tokens)
      req.principal = p
      if (!hasRole(p, role))
        throw new FenceError(
          'FORBIDDEN',
          `token '${p.name}' has role ${p.role}; to ${does ?? 'do this'} it needs role ${role}${role === 'operator' ? ' or fencer' : ''}`,
        )
    })
  }
  Object.assign(plugin, { [Symbol.for('skip-override')]: true })
  return plugin
}

/** The principal of an authenticated route (the hook ran). */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new FenceError('UNAUTHORIZED', 'no token')
  return req.principal
}
