import type { CommonLabSpec } from '../mock.js'
import { BmcMock } from './mock.js'
import { readBmcSpec } from './spec.js'

/**
 * Start one mock BMC outside a lab, from a lab-style section (tests, benchmarks):
 * `startBmc({ users: [...], initial: 'off' })`. Listens on 127.0.0.1, any free port.
 */
export async function startBmc(
  section: Record<string, unknown> = {},
  common: Partial<CommonLabSpec> = {},
): Promise<BmcMock> {
  const { spec, problems } = readBmcSpec(section, [])
  if (problems.length)
    throw new Error(`bmc: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`)
  const bmc = new BmcMock(
    'bmc',
    {
      kind: 'bmc',
      listen: { host: '127.0.0.1', port: 0 },
      plugs: 1,
      transitionDelayMs: 0,
      initial: 'on',
      ...common,
    },
    spec,
  )
  await bmc.start()
  return bmc
}
