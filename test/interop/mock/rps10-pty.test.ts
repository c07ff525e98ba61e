import { execFile, spawn } from 'node:child_process'
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

/**
 * A client that writes the moment it has raised DTR, as cluster-glue's rps10 plugin does when it
 * finds a banner already waiting after its DTR toggle (one the unit sent for the port's open,
 * while the plugin was descheduled before its toggle). Python, as the pty helper is: it opens the
 * port, drops DTR (B0) for half a second, raises it and sends `0?` at once, then reads the answer.
 */
const TOGGLE_THEN_WRITE = String.raw`
import os, sys, termios, time, select
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
a = termios.tcgetattr(fd)
a[0] = 0; a[1] = 0; a[3] = 0
a[2] = termios.CS8 | termios.CREAD | termios.CLOCAL
a[4] = a[5] = termios.B9600
termios.tcsetattr(fd, termios.TCSANOW, a)
b0 = list(a)
b0[4] = b0[5] = termios.B0
termios.tcsetattr(fd, termios.TCSANOW, b0)
time.sleep(0.5)
termios.tcsetattr(fd, termios.TCSANOW, a)
os.write(fd, b'\x02\x18\x18\x02\x18\x18' + b'0?\r')
buf = b''
end = time.monotonic() + 8
while b'Complete' not in buf:
    r, _, _ = select.select([fd], [], [], max(0, end - time.monotonic()))
    if not r:
        break
    buf += os.read(fd, 1024)
sys.stdout.write(buf.decode('latin1'))
`

describe('pty helper: bytes and modem lines in order', () => {
  it('a command written right after DTR rises is heard, not dropped as sent during the reset', async () => {
    const rig = await startRps10({ pty: '{tmp}/rps1', plugs: 1, initial: 'on' })
    try {
      const out = await new Promise<string>((resolve) =>
        execFile(
          pythonPath(),
          ['-c', TOGGLE_THEN_WRITE, rig.mock.ptyPath!],
          { timeout: 15_000 },
          (_e, o, e) => resolve(`${o}${e}`),
        ),
      )
      expect(out, `line: ${rig.mock.trace.join(', ')}`).toMatch(/Plug 0 On\r\nComplete/)
    } finally {
      await rig.stop()
    }
  }, 20_000)
})
