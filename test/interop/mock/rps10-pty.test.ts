import { spawn } from 'node:child_process'
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PTY_HELPER, PtyEndpoint, pythonPath } from '../../../firmware-mocks/pty.js'
import { startRps10 } from '../rps10-lab.js'

/** The mock's pty process never outlives the mock, nor the process that started it. */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25))
  return cond()
}

let dir: string | undefined
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

describe('pty helper lifetime', () => {
  it('stopping the mock ends the helper and removes the link', async () => {
    const rig = await startRps10({ pty: '{tmp}/rps0', plugs: 1 })
    const link = rig.mock.ptyPath!
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    const pid = (rig.mock.line.ptyEndpoint as unknown as { child: { pid: number } }).child.pid
    expect(alive(pid)).toBe(true)
    await rig.stop()
    expect(await until(() => !alive(pid))).toBe(true)
    expect(existsSync(link)).toBe(false)
  })

  it('the helper dies with its parent, even a parent killed with SIGKILL', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fg-pty-'))
    const link = path.join(dir, 'tty')
    // a plain node parent that starts the helper the way PtyEndpoint does, then reports its pid
    const parentJs = `
      const { spawn } = require('node:child_process')
      const c = spawn(process.argv[1], ['-c', process.argv[2], process.argv[3]], { stdio: ['pipe', 'pipe', 'inherit', 'pipe'] })
      c.stdio[3].once('data', () => process.stdout.write(String(c.pid) + '\\n'))
      setInterval(() => {}, 1000)
    `
    const parent = spawn(process.execPath, ['-e', parentJs, pythonPath(), PTY_HELPER, link], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const helperPid = await new Promise<number>((resolve) =>
      parent.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))),
    )
    expect(alive(helperPid)).toBe(true)
    expect(existsSync(link)).toBe(true)
    parent.kill('SIGKILL')
    expect(await until(() => !alive(helperPid))).toBe(true)
    expect(existsSync(link)).toBe(false)
  })

  it('hangup replaces the pty at the same path', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fg-pty-'))
    const pty = new PtyEndpoint(path.join(dir, 'tty'))
    await pty.start()
    const before = pty.tty
    const replaced = new Promise<void>((r) => pty.once('hangup', () => r()))
    pty.hangup()
    await replaced
    expect(pty.tty).not.toBe(before)
    expect(existsSync(path.join(dir, 'tty'))).toBe(true)
    await pty.stop()
  })
})
