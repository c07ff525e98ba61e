import { HeartbeatMember } from './member-loop.js'
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js'

/**
 * The membership process, forked by the gateway (service.ts). A process of its own — not a
 * worker thread: its own event loop, heap and garbage collector, its own scheduling priority, and
 * the serialport binding (whose poller lives on the process's default loop) works here. Nothing
 * the gateway's main loop does (GC, a journal fsync, a long JSON parse) delays a heartbeat or a
 * death timer.
 *
 * It lives exactly as long as the gateway: when the IPC channel closes (the gateway exited or
 * was killed), it stops sending heartbeats at once, so that peers see this node go silent.
 */
const send = (m: FromWorker) => {
  if (process.connected) process.send?.(m)
}

let member: HeartbeatMember | undefined

process.once('message', (first: { type: 'init' } & WorkerInit) => {
  try {
    member = new HeartbeatMember(first.config, send, undefined, { replicas: first.replicas === true })
    member.start()
    send({ type: 'ready', generation: member.generation, uuid: member.uuid.toString('hex') })
  } catch (e) {
    send({ type: 'fatal', error: e instanceof Error ? e.message : String(e) })
    process.disconnect?.()
    return
  }
  process.on('message', (m: ToWorker) => member?.handle(m))
})

process.on('disconnect', () => {
  // the gateway is gone: no goodbye (it did not stop cleanly), just silence
  process.exit(0)
})
