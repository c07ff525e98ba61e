import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { connects } from '../helpers/net.js'
import { runProcess } from '../helpers/process.js'
import { fencegateBin } from './demo-bin.js'

/** The built `fencegate` bin as a user runs it: child processes, real signals. */
let bin: string
const home = mkdtempSync(path.join(tmpdir(), 'fencegate-e2e-home-'))
const children = new Set<ChildProcess>()

beforeAll(async () => {
  bin = await fencegateBin()
}, 180_000)
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  children.clear()
})
afterAll(() => rmSync(home, { recursive: true, force: true }))

const env = () => {
  const e: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }
  return e
}

/** Run the bin to completion (killed if it hangs: a short command never takes this long). */
async function fencegate(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runProcess(process.execPath, [bin, ...args], { env: env(), timeoutMs: 15_000 })
  return { code: r.code, out: r.stdout, err: r.stderr }
}

/** Start a long-running bin; resolve when its stdout matches. */
function startLong(args: string[], ready: RegExp) {
  const c = spawn(process.execPath, [bin, ...args], { env: env() })
  children.add(c)
  let out = ''
  let err = ''
  c.stdout.on('data', (d) => (out += d))
  c.stderr.on('data', (d) => (err += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    c.on('close', (code, signal) => r({ code, signal })),
  )
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 15s: ${out} ${err}`)), 15_000)
    c.stdout.on('data', () => {
      if (ready.test(out)) {
        clearTimeout(timer)
        resolve(out)
      }
    })
    void exited.then(({ code }) => {
      clearTimeout(timer)
      reject(new Error(`exited ${code}: ${out} ${err}`))
    })
  })
  return { child: c, started, exited, stderr: () => err }
}

describe('the fencegate bin', () => {
  it('usage errors: exit 2, one line', async () => {
    const r = await fencegate(['serve'])
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.err).toBe('fencegate: serve: give --config FILE (your devices) or --demo (simulated devices)\n')
    const v = await fencegate(['--version'])
    expect(v.code).toBe(0)
    expect(v.out).toMatch(/^fencegate \d+\.\d+\.\d+\n$/)
  })

  it('quick start: serve --demo, then status over the demo nodes; SIGTERM stops it cleanly', async () => {
    const s = startLong(['serve', '--demo', '--listen', '127.0.0.1:0'], /try:/)
    const banner = await s.started
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1]!
    expect(banner).toMatch(/simulated/)
    expect(banner).toContain(`dashboard: ${url}/`)

    const r = await fencegate(['status', 'demo-[1-4]'])
    expect(r.code).toBe(0)
    const rows = r.out.split('\n')
    expect(rows[0]).toMatch(/^NODE +STATE +PLUGS$/)
    for (const n of [1, 2, 3, 4]) expect(r.out).toMatch(new RegExp(`^demo-${n} +on +`, 'm'))
    expect(r.out).toMatch(/simulated/)

    const j = await fencegate(['status', 'demo-3', '--json'])
    expect(j.code).toBe(0)
    expect(JSON.parse(j.out)).toMatchObject({ simulated: true, nodes: [{ name: 'demo-3', state: 'on' }] })

    const off = await fencegate(['off', 'demo-1'])
    expect(off.code).toBe(0)
    expect(off.out).toMatch(/^demo-1 +off +success +off /m)

    s.child.kill('SIGTERM')
    const { code } = await s.exited
    expect(code).toBe(0)
    expect(s.stderr()).toMatch(/"msg":"stopped"/)
    expect(await connects(Number(new URL(url).port))).toBe(false)
  })

  it('lab: device lines, the control URL, runs until SIGTERM', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-e2e-lab-'))
    try {
      const file = path.join(dir, 'lab.yaml')
      writeFileSync(
        file,
        'control: 127.0.0.1:0\ndevices:\n  d1: { kind: dummy, listen: 127.0.0.1:0, plugs: 8, transitionDelay: 0ms }\n',
      )
      const s = startLong(['lab', '--lab', file], /"control"/)
      const lines = (await s.started)
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(lines[0]).toMatchObject({ device: 'd1', kind: 'dummy' })
      expect(lines[1].control).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const port = Number(/:(\d+)$/.exec(lines[0].endpoint)![1])
      expect(await connects(port)).toBe(true)
      const devices = (await (await fetch(`${lines[1].control}/devices`)).json()) as { id: string }[]
      expect(devices.map((d) => d.id)).toEqual(['d1'])
      s.child.kill('SIGTERM')
      expect((await s.exited).code).toBe(0)
      expect(await connects(port)).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
