import type net from 'node:net'
import { FenceError } from '../../core/errors.js'
import { OPT, TelnetCodec } from '../../protocols/telnet.js'
import { type SocketFraming, TcpByteStream, type TcpByteStreamOptions } from './byte-stream-tcp.js'

export type TelnetStreamOptions = TcpByteStreamOptions

/**
 * A telnet session (RFC 854) as a byte stream for the expect engine: the TCP stream of
 * byte-stream-tcp.ts with the protocols/telnet.ts codec on it. We let the device echo and
 * suppress go-ahead (what a menu firmware offers), perform SGA and BINARY ourselves when asked,
 * and refuse everything else (terminal type, window size, linemode: a script has no terminal).
 * Commands never reach the scripts; data bytes 0xFF are escaped on the way out.
 */
export class TelnetStream extends TcpByteStream {
  override readonly transport = 'telnet' as const

  protected override frame(socket: net.Socket): SocketFraming {
    const codec = new TelnetCodec(
      { local: [OPT.SGA, OPT.BINARY], remote: [OPT.ECHO, OPT.SGA, OPT.BINARY] },
      (b) => {
        if (!socket.destroyed) socket.write(b)
      },
    )
    return { decode: (b) => codec.decode(b), encode: (b) => codec.encode(b) }
  }

  protected override closedByPeer(heard: boolean): FenceError {
    return heard
      ? new FenceError('CONNECTION_LOST', `${this.label}: the device closed the telnet session`)
      : new FenceError(
          'DEVICE_BUSY',
          `${this.label}: the device closed the connection at once: these units take one session at a time, another client may hold it`,
        )
  }
}
