import { execFile } from 'node:child_process'
import { buildControlApi } from '../../firmware-mocks/control-api.js'
import { readLab } from '../../firmware-mocks/lab-file.js'
import { Lab } from '../../firmware-mocks/lab.js'
import type { MockDevice } from '../../firmware-mocks/mock.js'

/** One menu-device mock started from a lab section (as a lab file writes it). */
export async function startMenuDevice<M extends MockDevice>(
  section: Record<string, unknown>,
): Promise<{
  lab: Lab
  mock: M
  stop(): Promise<void>
}> {
  const { lab: spec, problems } = readLab({ devices: { d: section } })
  if (problems.length) throw new Error(`lab: ${JSON.stringify(problems)}`)
  const lab = await Lab.start(spec)
  return { lab, mock: lab.device('d') as M, stop: () => lab.stop() }
}

/** Run a real client; resolves with its exit code and everything it printed. */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, out: `${stdout}${stderr}` })
    })
  })
}

/** An outlet's state as the lab's control API reports it: the meter on the outlet. */
export async function outletState(r: { lab: Lab }, plug: string, device = 'd'): Promise<string> {
  const api = buildControlApi(r.lab)
  const res = await api.inject({ method: 'GET', url: `/devices/${device}` })
  await api.close()
  const body = res.json() as { plugs: { id: string; state: string }[] }
  return body.plugs.find((p) => p.id === plug)!.state
}

/** A loopback address of its own (127.100-199.x.y), for a mock that must listen on port 23. */
export const loopback = (): string =>
  `127.${100 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`
