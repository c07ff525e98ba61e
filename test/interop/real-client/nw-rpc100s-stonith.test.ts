import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { buildControlApi } from '../../../firmware-mocks/control-api.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import type { NwRpc100sMock } from '../../../firmware-mocks/nw-rpc100s/mock.js'

/**
 * A real client nobody here wrote: cluster-glue's `stonith -t nw_rpc100s` (parameters `ttydev
 * hostlist`) opens the mock's pty at 9600 8N1, sends its liveness probe `//0,0,BOGUS;` and wants
 * `Invalid Entry`, then its command — on `//0,0,0;`, off `//0,0,*;`, reset `//0,0,10;`, each
 * followed by `\r\n\r` — and wants `OK`. Every action is then confirmed on the lab's control API
 * (the meter on the outlet), which is the only way anyone can know: the unit cannot say.
 *
 * Each test names its pty differently: cluster-glue takes a UUCP lock named after the device's
 * path, so two runs on the same path at once would lock each other out.
 */
function stonith(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('stonith', args, { timeout: 25_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, out: `${stdout}${stderr}` })
    })
  })
}

interface Rig {
  mock: NwRpc100sMock
  control: string
  stop(): Promise<void>
}

async function startRig(lab: Record<string, unknown>): Promise<Rig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-nw-'))
  const { lab: spec, problems } = readLab({ devices: { nw: { kind: 'nw-rpc100s', ...lab } } })
  if (problems.length) throw new Error(`lab: ${JSON.stringify(problems)}`)
  for (const d of spec.devices) if (d.common.pty) d.common.pty = d.common.pty.replace('{tmp}', dir)
  const started = await Lab.start(spec)
  const api = buildControlApi(started)
  const control = await api.listen({ host: '127.0.0.1', port: 0 })
  return {
    mock: started.device('nw') as NwRpc100sMock,
    control,
    async stop() {
      await api.close()
      await started.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The outlet as the lab's control API shows it. */
async function meter(r: Rig): Promise<{ state: string; pending: boolean }> {
  const dev = (await (await fetch(`${r.control}/devices/nw`)).json()) as {
    plugs: { id: string; state: string; pending: boolean }[]
  }
  const p = dev.plugs.find((x) => x.id === 'outlet')!
  return { state: p.state, pending: p.pending }
}

let rig: Rig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

describe('cluster-glue stonith -t nw_rpc100s against the mock on a pty', () => {
  it('off, then on: the outlet follows; the probe came first each time', async () => {
    rig = await startRig({ pty: '{tmp}/ttyNWa', initial: 'on' })
    const params = ['ttydev=' + rig.mock.ptyPath, 'hostlist=node1']
    const off = await stonith(['-t', 'nw_rpc100s', ...params, '-T', 'off', 'node1'])
    expect(off.code, `${off.out}\nline: ${rig.mock.trace.join(', ')}`).toBe(0)
    expect(await meter(rig)).toEqual({ state: 'off', pending: false })
    expect(rig.mock.trace).toEqual([
      'request //0,0,BOGUS;',
      'reply Invalid Entry',
      'request //0,0,*;',
      'reply OK',
    ])
    const on = await stonith(['-t', 'nw_rpc100s', ...params, '-T', 'on', 'NODE1'])
    // cluster-glue matches the host name without case
    expect(on.code, `${on.out}\nline: ${rig.mock.trace.join(', ')}`).toBe(0)
    expect(await meter(rig)).toEqual({ state: 'on', pending: false })
    expect(rig.mock.trace.slice(-2)).toEqual(['request //0,0,0;', 'reply OK'])
  }, 30_000)

  it("reset: the unit's own 10 s cycle — the outlet goes off, then on", async () => {
    rig = await startRig({ pty: '{tmp}/ttyNWb', initial: 'on' })
    const changes: string[] = []
    rig.mock.sim.on('change', (plug, state) => changes.push(`${plug}:${state}`))
    const r = await stonith([
      '-t',
      'nw_rpc100s',
      `ttydev=${rig.mock.ptyPath}`,
      'hostlist=node1',
      '-T',
      'reset',
      'node1',
    ])
    expect(r.code, `${r.out}\nline: ${rig.mock.trace.join(', ')}`).toBe(0)
    expect(rig.mock.trace.slice(-2)).toEqual(['request //0,0,10;', 'reply OK'])
    // stonith returns at the unit's OK; the relay holds the outlet off for 10 s
    expect(await meter(rig)).toEqual({ state: 'off', pending: true })
    expect(rig.mock.sim.commands.map((c) => c.action)).toEqual(['cycle'])
    const end = Date.now() + 15_000
    while (Date.now() < end && (await meter(rig)).state !== 'on')
      await new Promise((res) => setTimeout(res, 200))
    expect(changes).toEqual(['outlet:off', 'outlet:on'])
    expect(await meter(rig)).toEqual({ state: 'on', pending: false })
  }, 30_000)

  it('status (-S) is the probe alone: it switches nothing', async () => {
    rig = await startRig({ pty: '{tmp}/ttyNWc', initial: 'off' })
    const r = await stonith(['-t', 'nw_rpc100s', `ttydev=${rig.mock.ptyPath}`, 'hostlist=node1', '-S'])
    expect(r.code, r.out).toBe(0)
    expect(rig.mock.trace).toEqual(['request //0,0,BOGUS;', 'reply Invalid Entry'])
    expect(rig.mock.sim.commands).toEqual([])
    expect(await meter(rig)).toEqual({ state: 'off', pending: false })
  }, 30_000)

  it('a stuck relay: stonith says off succeeded, the meter says on — why this unit never fences', async () => {
    rig = await startRig({ pty: '{tmp}/ttyNWe', initial: 'on' })
    rig.mock.sim.faults.add({ type: 'lie' })
    const r = await stonith([
      '-t',
      'nw_rpc100s',
      `ttydev=${rig.mock.ptyPath}`,
      'hostlist=node1',
      '-T',
      'off',
      'node1',
    ])
    expect(r.code, r.out).toBe(0)
    expect(rig.mock.sim.commands).toMatchObject([{ action: 'off', ignored: true }])
    expect(await meter(rig)).toEqual({ state: 'on', pending: false })
  }, 30_000)

  it('a unit that does not answer: stonith fails and nothing is switched', async () => {
    rig = await startRig({ pty: '{tmp}/ttyNWd', initial: 'on' })
    rig.mock.sim.faults.add({ type: 'drop' })
    const r = await stonith([
      '-t',
      'nw_rpc100s',
      `ttydev=${rig.mock.ptyPath}`,
      'hostlist=node1',
      '-T',
      'off',
      'node1',
    ])
    expect(r.code).not.toBe(0)
    expect(rig.mock.sim.commands).toEqual([])
    expect(await meter(rig)).toEqual({ state: 'on', pending: false })
  }, 30_000)
})
