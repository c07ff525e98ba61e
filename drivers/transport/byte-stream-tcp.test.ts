import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { FenceError } from '../../core/errors.js'
import { TcpByteStream } from './byte-stream-tcp.js'

describe('TcpByteStream', () => {
  const cleanup: (() => void)[] = []
  afterEach(() => {
    for (const c of cleanup.splice(0)) c()
  })

  it('a write to a terminal server that stopped reading ends when the call is aborted', async () => {
    // the peer accepts and never reads: once both kernel buffers are full the write cannot finish
    const peers: net.Socket[] = []
    const server = net.createServer((s) => {
      s.pause()
      peers.push(s)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    cleanup.push(() => {
      for (const p of peers) p.destroy()
      server.close()
    })
    const port = (server.address() as net.AddressInfo).port
    const stream = new TcpByteStream({ host: '127.0.0.1', port, connectTimeoutMs: 2000 })
    cleanup.push(() => void stream.close())
    await stream.open(AbortSignal.timeout(2000))
    const ac = new AbortController()
    const write = stream.write(Buffer.alloc(64 * 1024 * 1024), ac.signal)
    setTimeout(() => ac.abort(new FenceError('DEADLINE_EXCEEDED', 'deadline passed')), 200)
    const err = await write.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FenceError)
    expect((err as FenceError).code).toBe('DEADLINE_EXCEEDED')
  }, 5000)
})
