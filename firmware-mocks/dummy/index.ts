import { Fields } from '../../core/fields.js'
import type { MockFactory } from '../mock.js'
import { DummyMock } from './mock.js'

export const dummyMock: MockFactory<Record<string, never>> = {
  kind: 'dummy',
  driver: 'dummy',
  description: 'a power switch on a TCP line protocol; every fault of the shared model',
  endpoint: 'network',
  options: {},
  validate(section, path) {
    const f = new Fields(section, path)
    f.noOthers()
    return { spec: {}, problems: f.problems }
  },
  create: (id, common) => new DummyMock(id, common),
  driverSection: (mock) => {
    const { host, port } = (mock as DummyMock).address
    return { driver: 'dummy', host, port }
  },
}
