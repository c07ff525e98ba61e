import { readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { readLab } from '../../firmware-mocks/lab-file.js'
import { DRIVERS } from '../../drivers/registry.js'
import { MOCKS } from '../../firmware-mocks/registry.js'
import { DEMO_DEVICES } from '../../src/demo/demo.js'
import { readConfig } from '../../src/config/config.js'
import { main } from '../../src/cli/run.js'
import { connects } from '../helpers/net.js'
import { capture, run, tempDir } from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.remove())

function labFile(name: string, text: string): string {
  const f = path.join(tmp.dir, name)
  writeFileSync(f, text)
  return f
}

const LAB = `control: 127.0.0.1:0
devices:
  d1:
    kind: dummy
    listen: 127.0.0.1:0
    plugs: 4
    transitionDelay: 0ms
  d2: { kind: dummy, listen: 127.0.0.1:0, plugs: 2, initial: off }
`

/** Start `fencegate lab …` in-process; resolve when `lines` lines are out. */
async function startLab(args: string[], until: (out: string) => boolean) {
  const c = capture()
  const done = main(['lab', ...args], c.io)
  for (let i = 0; i < 200 && !until(c.out()); i++) {
    const early = await Promise.race([done, new Promise((r) => setTimeout(() => r(undefined), 25))])
    if (early !== undefined) throw new Error(`lab exited ${early}: ${c.err()}`)
  }
  return { c, done }
}

describe('fencegate lab', () => {
  it('prints a JSON line per device, then the control URL; runs until stopped', async () => {
    const { c, done } = await startLab(['--lab', labFile('lab.yaml', LAB)], (o) => o.includes('"control"'))
    const lines = c
      .out()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatchObject({ device: 'd1', kind: 'dummy' })
    expect(lines[1]).toMatchObject({ device: 'd2', kind: 'dummy' })
    const port = Number(/^tcp:\/\/127\.0\.0\.1:(\d+)$/.exec(lines[0].endpoint)![1])
    expect(await connects(port)).toBe(true)
    const control = lines[2].control as string
    expect(control).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    // the control API acts on the running devices
    const devices = (await (await fetch(`${control}/devices`)).json()) as {
      id: string
      plugs: { state: string }[]
    }[]
    expect(devices.map((d) => d.id)).toEqual(['d1', 'd2'])
    expect(devices[1]!.plugs.map((p) => p.state)).toEqual(['off', 'off'])
    const put = await fetch(`${control}/devices/d1/plugs/2`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'off' }),
    })
    expect(put.status).toBe(200)

    c.stop()
    expect(await done).toBe(0)
    expect(await connects(port)).toBe(false)
  })

  it('--print-config: a gateway config that validates and reaches the lab, with a token file', async () => {
    const { c, done } = await startLab(['--lab', labFile('lab2.yaml', LAB), '--print-config'], (o) =>
      o.includes('nodes:'),
    )
    await new Promise((r) => setTimeout(r, 50))
    const text = c.out()
    c.stop()
    expect(await done).toBe(0)
    const doc = parse(text)
    const { config, problems } = readConfig(doc)
    expect(problems).toEqual([])
    expect(config.simulated).toBe(true)
    expect([...config.nodes.keys()]).toEqual(['d1-1', 'd1-2', 'd1-3', 'd1-4', 'd2-1', 'd2-2'])
    expect(config.devices.get('d1')).toMatchObject({ driver: 'dummy' })
    const tokenFile = /FENCEGATE_TOKEN=\$\(cat (\S+)\)/.exec(text)![1]!
    expect(tokenFile).toMatch(/api-token$/)
    // the token file lived in the lab's secrets dir: gone with the lab
    expect(() => readFileSync(tokenFile)).toThrow(/ENOENT/)
  })

  it('a device line carries what a client pins: the certificate or host key fingerprint', async () => {
    const f = labFile(
      'pins.yaml',
      `control: 127.0.0.1:0
devices:
  idrac: { kind: redfish, listen: 127.0.0.1:0 }
  racadm: { kind: drac-ssh, listen: 127.0.0.1:0, machineOf: idrac }
`,
    )
    const { c, done } = await startLab(['--lab', f], (o) => o.includes('"control"'))
    try {
      const lines = c
        .out()
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(lines[0]).toMatchObject({ device: 'idrac', kind: 'redfish' })
      expect(lines[0].endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      expect(lines[0].fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
      expect(lines[1]).toMatchObject({ device: 'racadm', kind: 'drac-ssh' })
      expect(lines[1].hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    } finally {
      c.stop()
      expect(await done).toBe(0)
    }
  })

  it('--write-config over every mock kind: a gateway config that reads every node', async () => {
    // the smallest section each kind accepts: a network endpoint, else a pseudo-terminal
    const devices: Record<string, Record<string, unknown>> = {}
    for (const kind of MOCKS.keys()) {
      const id = `x-${kind}`
      const candidates = [
        { kind, listen: '127.0.0.1:0', plugs: 2 },
        { kind, listen: '127.0.0.1:0' },
        { kind, pty: path.join(tmp.dir, `${kind}.pty`) },
      ]
      const ok = candidates.find((c) => readLab({ devices: { [id]: c } }).problems.length === 0)
      expect(ok, `no minimal lab section for kind ${kind}`).toBeDefined()
      devices[id] = ok!
    }
    const file = labFile('every-kind.yaml', stringify({ control: '127.0.0.1:0', devices }))
    const gw = path.join(tmp.dir, 'every-kind-gw.yaml')
    const { c, done } = await startLab(['--lab', file, '--write-config', gw], (o) => o.includes('"control"'))
    try {
      const check = await run(['check-config', gw])
      expect(check.code).toBe(0)
      const status = await run(['status', '--config', gw, '--json'])
      expect(status.err).toBe('')
      const nodes = JSON.parse(status.out).nodes as {
        name: string
        state: string
        plugs: { device: string; error?: unknown }[]
      }[]
      expect(new Set(nodes.flatMap((n) => n.plugs.map((p) => p.device)))).toEqual(
        new Set(Object.keys(devices)),
      )
      // a device that cannot read back (verifies: false) reads unknown — all it can say — on a node
      // the config made fence: false; every other node reads on or off. An unknown node makes status exit 1.
      // verifies may be a function of the device's config (usb-relay: a CH340 board): ask the
      // factory with the section the lab wrote
      const written = parse(readFileSync(gw, 'utf8'))
      const blind = new Set(
        Object.entries(written.devices as Record<string, Record<string, unknown>>)
          .filter(([, section]) => {
            const { driver, ...rest } = section
            const f = DRIVERS.get(String(driver))!
            const v = typeof f.verifies === 'function' ? f.verifies(f.validate(rest).config) : f.verifies
            return v === false
          })
          .map(([id]) => id),
      )
      expect(blind.has('x-usb-relay')).toBe(true)
      expect(written.nodes[`x-nw-rpc100s`]).toMatchObject({ fence: false })
      for (const n of nodes) {
        const unverified = n.plugs.every((p) => blind.has(p.device))
        if (unverified) {
          expect(n.state).toBe('unknown')
          expect(n.plugs.map((p) => p.error)).toEqual([undefined]) // the device answered
        } else expect(['on', 'off']).toContain(n.state)
      }
      expect(status.code).toBe(blind.size ? 1 : 0)
    } finally {
      c.stop()
      expect(await done).toBe(0)
    }
  })

  it("without --lab: the demo's devices", async () => {
    const { c, done } = await startLab(['--control', '127.0.0.1:0'], (o) => o.includes('"control"'))
    const lines = c
      .out()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    c.stop()
    expect(await done).toBe(0)
    expect(lines.slice(0, -1).map((l) => l.device)).toEqual(DEMO_DEVICES.map((d) => d.id))
    expect(lines.at(-1).control).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('--control overrides the file; a control address off loopback is refused with its line', async () => {
    const bad = labFile('bad-control.yaml', LAB.replace('control: 127.0.0.1:0', 'control: 0.0.0.0:7700'))
    const r = await run(['lab', '--lab', bad])
    expect(r.code).toBe(1)
    expect(r.err).toBe(`${bad}:1: control: the control API listens on loopback only (127.0.0.1 or ::1)\n`)
  })

  it('a bad lab file: every problem with FILE:LINE: field, exit 1, nothing started', async () => {
    const f = labFile(
      'bad.yaml',
      `devices:
  d1:
    kind: toaster
  d2:
    kind: dummy
    plugs: many
    transitionDelay: soon
    colour: red
`,
    )
    const r = await run(['lab', '--lab', f])
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    const lines = r.err.trimEnd().split('\n')
    expect(lines.some((l) => l.startsWith(`${f}:3: devices.d1.kind: expected one of `))).toBe(true)
    expect(lines).toContain(`${f}:6: devices.d2.plugs: expected an integer, got 'many'`)
    expect(lines.some((l) => l.startsWith(`${f}:7: devices.d2.transitionDelay: expected a duration`))).toBe(
      true,
    )
    expect(lines).toContain(`${f}:8: devices.d2.colour: unknown field`)
  })

  it('a port already taken: exit 1 saying so', async () => {
    const s = net.createServer()
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    const port = (s.address() as net.AddressInfo).port
    try {
      const r = await run(['lab', '--lab', labFile('busy.yaml', LAB), '--control', `127.0.0.1:${port}`])
      expect(r.code).toBe(1)
      expect(r.err).toBe(`fencegate: lab: control API cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`)
    } finally {
      s.close()
    }
  })
})
