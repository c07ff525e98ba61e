import { describe, expect, it } from 'vitest'
import { DRIVERS } from '../../drivers/registry.js'
import { optionFieldNames } from '../../core/options.js'
import { run } from './helpers.js'

describe('fencegate list --drivers', () => {
  it('lists every driver kind and its fields, from the declarations, without a gateway', async () => {
    const r = await run(['list', '--drivers'])
    expect(r.code).toBe(0)
    expect(r.err).toBe('')
    expect(r.out).toMatch(/^every device: driver: KIND\n {2}deviceCycle/)
    for (const d of DRIVERS.values()) {
      expect(r.out).toContain(`${d.kind}: ${d.description}`)
      for (const name of optionFieldNames(d.options)) expect(r.out).toContain(name)
    }
    expect(r.out).toContain('passwordFile | passwordEnv')
  })

  it('--json: kinds, fields, types, defaults, units and secrets', async () => {
    const r = await run(['list', '--drivers', '--json'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(j.drivers.map((d: { kind: string }) => d.kind)).toEqual([...DRIVERS.keys()])
    const ipmi = j.drivers.find((d: { kind: string }) => d.kind === 'ipmi')
    expect(ipmi.singlePlug).toBe('chassis')
    expect(ipmi.fields.find((f: { name: string }) => f.name === 'password')).toMatchObject({
      secret: true,
      names: ['passwordFile', 'passwordEnv'],
      default: 'required',
    })
    expect(ipmi.fields.find((f: { name: string }) => f.name === 'requestTimeout')).toMatchObject({
      unit: 'ms',
      default: '3s',
      secret: false,
    })
  })
})
