import type { Fields } from '../../src/config/fields.js'
import { FenceError } from '../../src/core/errors.js'
import type { FieldProblem } from '../driver.js'
import type { ByteStream } from './byte-stream.js'
import { TcpByteStream } from './byte-stream-tcp.js'
import { SerialStream } from './serial-stream.js'

/** Where a serial device is: a local tty or a raw TCP terminal server. Config shared by serial drivers. */
export interface SerialTarget {
  /** Local tty (`/dev/ttyS1`), or absent when `server` is given. */
  port?: string
  /** Raw TCP terminal server (`host:port`), or absent when `port` is given. */
  server?: { host: string; port: number }
  baud: number
  connectTimeoutMs: number
}

/** Read `port` | `server`, `baud`, `connectTimeout` from a driver's config section. */
export function readSerialTarget(
  f: Fields,
  opts: { baud: number; isBaud: (b: number) => boolean; baudHint: string },
): { target: SerialTarget; problems: FieldProblem[] } {
  const problems: FieldProblem[] = []
  const port = f.optStr('port')
  f.mark('server')
  const server = f.has('server') ? f.hostPort('server') : undefined
  if (!port && !server)
    problems.push({
      path: ['port'],
      message: 'required: port (a tty such as /dev/ttyS1) or server (HOST:PORT)',
    })
  if (port && server) problems.push({ path: ['server'], message: 'give port or server, not both' })
  const baud = f.int('baud', { default: opts.baud })
  if (!opts.isBaud(baud)) problems.push({ path: ['baud'], message: `${opts.baudHint}, got ${baud}` })
  const connectTimeoutMs = f.duration('connectTimeout', 2000, { min: 1 })
  return { target: { port, server, baud, connectTimeoutMs }, problems }
}

/** The byte stream that reaches the target. */
export function openSerialTarget(t: SerialTarget): ByteStream {
  if (t.port) return new SerialStream({ path: t.port, baud: t.baud })
  if (t.server)
    return new TcpByteStream({
      host: t.server.host,
      port: t.server.port,
      connectTimeoutMs: t.connectTimeoutMs,
    })
  throw new FenceError('CONFIG_INVALID', 'give port (a tty) or server (host:port)')
}
