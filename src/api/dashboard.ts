/**
 * The web dashboard: the page and its assets under `/`, as built by `npm run build`
 * (scripts/build-dashboard.mjs bundles dashboard/ into dist/dashboard/). The page holds no data
 * and needs no token: it signs in against /v1 like any client. Strict headers: a CSP that
 * allows only this origin's script, style and API (no inline script, no framing).
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
}

interface Asset {
  body: Buffer
  type: string
  etag: string
}

/**
 * Where the built dashboard is: dist/dashboard, found from this module — beside it in the build
 * (dist/src/api → dist/dashboard), or under dist/ when run from the sources (tests).
 */
export function dashboardDir(): string | undefined {
  for (const rel of ['../../dashboard/', '../../dist/dashboard/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url))
    // the sources (dashboard/*.ts) have an index.html too: the build is the one with app.js
    if (existsSync(`${dir}app.js`) && existsSync(`${dir}index.html`)) return dir
  }
  return undefined
}

function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>()
  if (!existsSync(dir)) return out
  for (const name of readdirSync(dir)) {
    const ext = name.slice(name.lastIndexOf('.'))
    const type = TYPES[ext]
    if (!type) continue
    const body = readFileSync(`${dir}${name}`)
    out.set(name, {
      body,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    })
  }
  return out
}

export interface DashboardOptions {
  /** The built assets (default: dashboardDir()). */
  dir?: string
}

/** `/` (the page) and `/assets/NAME`; 503 with how to build when the assets are missing. */
export async function dashboardPlugin(app: FastifyInstance, o: DashboardOptions): Promise<void> {
  const dir = o.dir ?? dashboardDir()
  const assets = dir ? loadAssets(dir) : new Map<string, Asset>()

  const serve = (name: string, req: FastifyRequest, reply: FastifyReply) => {
    const a = assets.get(name)
    if (!a) {
      const built = assets.has('index.html')
      return reply
        .code(built ? 404 : 503)
        .type('text/plain; charset=utf-8')
        .send(built ? `no dashboard asset ${name}\n` : 'the dashboard is not built: run npm run build\n')
    }
    reply
      .header('content-security-policy', DASHBOARD_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-cache')
      .header('etag', a.etag)
      .type(a.type)
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send()
    return reply.send(a.body)
  }

  const hide = { schema: { hide: true } }
  app.get('/', hide, (req, reply) => serve('index.html', req, reply))
  app.get<{ Params: { name: string } }>('/assets/:name', hide, (req, reply) =>
    serve(req.params.name === 'index.html' ? '' : req.params.name, req, reply),
  )
}
