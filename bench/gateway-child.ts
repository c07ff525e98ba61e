/**
 * The gateway of bench/gateway.bench.ts, in a process of its own so that its RSS is the
 * gateway's alone (the mock devices run in the bench process). Driven over the fork IPC
 * channel: start (a config document), direct (time engine.status in-process), rss, stop.
 */
import { performance } from 'node:perf_hooks'
import { type RunningServer, startServer } from '../src/api/server.js'
import { readConfig } from '../src/config/config.js'

type Msg =
  | { type: 'start'; doc: unknown }
  | { type: 'direct'; runs: number }
  | { type: 'rss' }
  | { type: 'stop' }

let server: RunningServer | undefined
const send = (m: unknown) => process.send!(m)

process.on('message', async (m: Msg) => {
  try {
    if (m.type === 'start') {
      const { config, problems } = readConfig(m.doc)
      if (problems.length) throw new Error(JSON.stringify(problems.slice(0, 3)))
      server = await startServer({ config, listen: { port: 0 } })
      send({ type: 'ready', url: server.url, memory: process.memoryUsage() })
    } else if (m.type === 'direct') {
      const names = server!.engine.nodes().map((n) => n.name)
      const times: number[] = []
      for (let i = 0; i < m.runs; i++) {
        const t = performance.now()
        await server!.engine.status(names, { initiator: { name: 'bench', role: 'viewer', via: 'bench' } })
        times.push(performance.now() - t)
      }
      send({ type: 'direct', times })
    } else if (m.type === 'rss') {
      send({ type: 'rss', memory: process.memoryUsage() })
    } else if (m.type === 'stop') {
      await server?.close()
      process.exit(0)
    }
  } catch (e) {
    send({ type: 'error', message: (e as Error).stack ?? String(e) })
  }
})
send({ type: 'hello' })
