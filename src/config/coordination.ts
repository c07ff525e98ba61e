import { hostname } from 'node:os'
import type { FieldProblem } from '../../core/problems.js'
import type { FenceError } from '../../core/errors.js'
import { Fields, describe } from '../../core/fields.js'
import { checkSecretFile } from './secrets.js'
import { asMapping } from '../../core/yaml.js'

/**
 * `coordination:` — absent: one gateway, no extra service (the embedded default). With `etcd:`
 * the gateway is one replica of several that coordinate through etcd (docs/high-availability.md).
 */
export interface CoordinationConfig {
  /** This replica's name, unique among the replicas (default: host name and listen port). */
  replica: string
  etcd: EtcdConfig
}

export interface EtcdConfig {
  /** `http://127.0.0.1:2379` or `https://…` (then tls.ca is required). */
  endpoints: string[]
  /** Every key fencegate writes lives under this prefix (several gateways may share one etcd). */
  prefix: string
  tls?: { caFile: string; certFile?: string; keyFile?: string }
  /** The replica's lease: a replica silent for this long loses its device locks. Whole seconds. */
  leaseTtlMs: number
}

/** etcd grants whole seconds; below 2 s the lease expires on an ordinary etcd leader election. */
export const LEASE_TTL = { min: 2000, max: 60_000 } as const

const ENDPOINT = /^(https?):\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/
const REPLICA = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

/**
 * Read the `coordination` section. Problems carry field paths (readConfig adds lines). The TLS
 * key file is checked like every secret (owner and mode), without reading it; `selfUid` is for tests.
 */
export function readCoordination(
  top: Fields,
  listenPort: number,
  problems: FieldProblem[],
  selfUid = process.getuid?.(),
): CoordinationConfig | undefined {
  top.mark('coordination')
  const raw = top.section.coordination
  if (raw === undefined) return undefined
  const section = asMapping(raw)
  if (!section) {
    problems.push({
      path: ['coordination'],
      message: `expected a mapping with etcd: {...}, got ${describe(raw)}`,
    })
    return undefined
  }
  const f = new Fields(section, ['coordination'])
  const replica = f.str('replica', {
    default: `${hostname()}-${listenPort}`,
    pattern: REPLICA,
    hint: 'a replica name (letters, digits, . _ -)',
  })
  const e = new Fields(asMapping(section.etcd) ?? {}, ['coordination', 'etcd'])
  if (!asMapping(section.etcd))
    problems.push({
      path: ['coordination', 'etcd'],
      message: 'required: expected a mapping with endpoints: [...]',
    })
  f.mark('etcd')
  const endpoints: string[] = []
  const rawEndpoints = e.section.endpoints
  e.mark('endpoints')
  if (!Array.isArray(rawEndpoints) || rawEndpoints.length === 0)
    problems.push({
      path: ['coordination', 'etcd', 'endpoints'],
      message: 'required: expected a list of etcd client URLs like http://10.0.0.1:2379',
    })
  else
    rawEndpoints.forEach((v, i) => {
      const s = String(v)
      const m = ENDPOINT.exec(s)
      if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535)
        problems.push({
          path: ['coordination', 'etcd', 'endpoints', i],
          message: `expected http://HOST:PORT or https://HOST:PORT, got ${describe(v)}`,
        })
      else endpoints.push(s)
    })
  const prefix = e.str('prefix', {
    default: '/fencegate',
    pattern: /^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/,
    hint: 'a key prefix like /fencegate',
  })
  const leaseTtlMs = e.duration('leaseTtl', 2000, LEASE_TTL)
  if (leaseTtlMs % 1000 !== 0)
    problems.push({
      path: ['coordination', 'etcd', 'leaseTtl'],
      message: `etcd grants leases in whole seconds: expected 2s, 3s, …, got ${describe(e.section.leaseTtl)}`,
    })
  let tls: EtcdConfig['tls']
  if (e.has('tls')) {
    const t = new Fields(asMapping(e.section.tls) ?? {}, ['coordination', 'etcd', 'tls'])
    const caFile = t.str('ca', { hint: 'a PEM file path (the CA that signed the etcd servers)' })
    const certFile = t.optStr('cert')
    const keyFile = t.optStr('key')
    if ((certFile === undefined) !== (keyFile === undefined))
      problems.push({
        path: ['coordination', 'etcd', 'tls', certFile === undefined ? 'cert' : 'key'],
        message: 'a client certificate needs both cert and key',
      })
    if (keyFile)
      try {
        checkSecretFile(keyFile, 'coordination.etcd.tls.key', selfUid)
      } catch (err) {
        problems.push({ path: ['coordination', 'etcd', 'tls', 'key'], message: (err as FenceError).message })
      }
    t.noOthers()
    problems.push(...t.problems)
    tls = { caFile, ...(certFile ? { certFile } : {}), ...(keyFile ? { keyFile } : {}) }
  }
  e.mark('tls')
  const https = endpoints.filter((u) => u.startsWith('https:'))
  if (https.length && !tls)
    problems.push({
      path: ['coordination', 'etcd', 'tls'],
      message: `https endpoints (${https[0]}) need tls: { ca: FILE } to check the etcd servers`,
    })
  if (tls && https.length !== endpoints.length)
    problems.push({
      path: ['coordination', 'etcd', 'endpoints'],
      message:
        'with tls every endpoint must be https:// (plain http would send the client certificate nowhere)',
    })
  e.noOthers()
  f.noOthers()
  problems.push(...e.problems, ...f.problems)
  return { replica, etcd: { endpoints, prefix, leaseTtlMs, ...(tls ? { tls } : {}) } }
}
