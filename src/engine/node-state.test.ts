import { describe, expect, it } from 'vitest'
import type { PlugRef, PowerState } from '../../core/types.js'
import { nodeState } from './node-state.js'

const bmc: PlugRef = { device: 'bmc', plug: 'chassis' }
const a: PlugRef = { device: 'pdu', plug: '1' }
const b: PlugRef = { device: 'pdu', plug: '2' }
const levels = [[bmc], [a, b]]
const reads = (m: Record<string, PowerState>) => (r: PlugRef) => m[`${r.device}:${r.plug}`] ?? 'unknown'

describe('nodeState (rule 5)', () => {
  it('is off when every plug of one level is off, even if another level cannot be read', () => {
    expect(nodeState(levels, reads({ 'pdu:1': 'off', 'pdu:2': 'off' }))).toBe('off')
    expect(nodeState(levels, reads({ 'bmc:chassis': 'off', 'pdu:1': 'on', 'pdu:2': 'on' }))).toBe('off')
  })
  it('is on when any plug is on and no level is all off', () => {
    expect(nodeState(levels, reads({ 'pdu:1': 'off', 'pdu:2': 'on' }))).toBe('on')
  })
  it('is unknown, never off, when a dual-PSU level is half unknown', () => {
    expect(nodeState([[a, b]], reads({ 'pdu:1': 'off' }))).toBe('unknown')
    expect(nodeState([[a, b]], reads({}))).toBe('unknown')
  })
  it('an empty level never counts as off', () => {
    expect(nodeState([[]], reads({}))).toBe('unknown')
  })
})
