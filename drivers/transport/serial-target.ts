import { Type } from 'typebox'
import { Opt } from '../../core/options.js'
import { FenceError } from '../../core/errors.js'
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

/**
 * The options of a serial device's section: `port` | `server`, `baud`, `connectTimeout`
 * (declared once, spread first into a serial driver's options). `port` or `server`, not
 * both, is checked with `server`.
 */
export function serialTargetOptions(o: { baud: number; bauds: readonly number[]; baudHint: string }) {
  return {
    port: Opt.optionalString('a local tty (`/dev/ttyS1`); `port` or `server` is required'),
    server: Opt.custom(Type.String(), 'a raw TCP terminal server (ser2net, a console server port)', {
      type: 'HOST:PORT',
      defaultText: 'none',
      read: (f, name) => {
        const server = f.has(name) ? f.hostPort(name) : undefined
        const port = f.section.port
        if (!port && !server)
          f.problems.push({
            path: [...f.base, 'port'],
            message: 'required: port (a tty such as /dev/ttyS1) or server (HOST:PORT)',
          })
        if (port && server)
          f.problems.push({ path: [...f.base, name], message: 'give port or server, not both' })
        return server
      },
    }),
    baud: Opt.custom(Type.Integer({ default: o.baud }), 'the line speed', {
      type: o.bauds.join(', '),
      defaultText: `\`${o.baud}\``,
      read: (f, name) => {
        const baud = f.int(name, { default: o.baud })
        if (!o.bauds.includes(baud))
          f.problems.push({ path: [...f.base, name], message: `${o.baudHint}, got ${baud}` })
        return baud
      },
    }),
    connectTimeout: Opt.duration('with `server`: past it the terminal server counts as unreachable', {
      default: 2000,
      min: 1,
    }),
  }
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
