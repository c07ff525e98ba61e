/**
 * The shared power switch of the engine-path test: a dummy mock PDU (firmware-mocks/dummy, the
 * real line protocol on TCP) in the switch namespace, one outlet per member. Prints
 * `{"type":"listening","port":N}` and every outlet change, so the test can cut a member's power
 * when the engine switches its outlet off. `node power-main.js HOST PLUGS`.
 */
import { DummyMock } from '../../firmware-mocks/dummy/mock.js'

const [host = '127.0.0.1', plugs = '3'] = process.argv.slice(2)
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`)
const mock = new DummyMock('pdu', {
  kind: 'dummy',
  listen: { host, port: 0 },
  plugs: Number(plugs),
  transitionDelayMs: 50,
  initial: 'on',
})
mock.sim.on('change', (plug, state) => say({ type: 'change', plug, state }))
await mock.start()
say({ type: 'listening', port: mock.address.port })
process.stdin.on('end', () => void mock.stop().then(() => process.exit(0)))
process.stdin.resume()
