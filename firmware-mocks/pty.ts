import { type ChildProcess, spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import type { Socket } from 'node:net'

/**
 * How a serial mock exposes a real pseudo-terminal that any program can open as a serial port.
 *
 * Node cannot create a pty (no ioctl), so a tiny python3 helper (Debian's python3, no native npm
 * build) owns the pty master, links the slave at PATH and relays bytes over pipes. It also
 * reports what a real device sees on its modem lines, which a plain socat pty cannot:
 *
 * - **DTR.** A pty has no modem lines, so the helper derives DTR the way a UART driver drives it:
 *   DTR is up while some program has the port open with a line speed other than B0. Opening the
 *   port raises it (as Linux does on a real tty); closing it, or setting the speed to B0 — the
 *   POSIX hang-up that cluster-glue, minicom and our driver use — drops it. It watches by polling
 *   the slave's termios through the master (Linux redirects TCGETS on a master to its slave) and
 *   POLLHUP on the master (no slave open).
 * - **Baud rate** the client set, so a mock can notice a client at the wrong speed.
 * - **Order.** The client's bytes and its modem-line changes reach the mock on one channel (JSON
 *   lines on fd 3), in the order the client made them: DTR is sampled again when bytes are read, a
 *   rise is reported before those bytes and a drop after them. On two pipes (bytes on stdout,
 *   DTR on fd 3) a command written right after the DTR toggle could reach the session before
 *   the rise, while it still held the unit in reset, and be dropped (issue 9: cluster-glue's
 *   `stonith -t rps10 -T reset` exited 6 when it had read a banner left over from its open).
 * - **Hang-up.** `hangup()` replaces the pty with a fresh one at the same path: the client's
 *   open descriptor fails with EIO, as when a USB serial adapter is unplugged.
 *
 * The helper dies with the mock: stdin EOF (the parent's pipe closed), SIGTERM, or the parent's
 * death (PR_SET_PDEATHSIG). It removes the link on the way out.
 */

/** The helper's source (exported for the test that kills its parent). */
export const PTY_HELPER = String.raw`
import os, sys, select, termios, signal, json, errno
path = sys.argv[1]
try:
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except Exception:
    pass
CTL = 3
SPEEDS = {}
for n in (0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400):
    c = getattr(termios, 'B%d' % n, None)
    if c is not None:
        SPEEDS[c] = n
state = {'m': -1, 'tty': '', 'last': None}
def emit(obj):
    b = (json.dumps(obj) + '\n').encode()
    while b:
        b = b[os.write(CTL, b):]
def relink(target):
    tmp = path + '.%d.tmp' % os.getpid()
    try:
        os.unlink(tmp)
    except OSError:
        pass
    os.symlink(target, tmp)
    os.rename(tmp, path)
def make():
    m, s = os.openpty()
    a = termios.tcgetattr(s)
    a[0] = 0; a[1] = 0; a[3] = 0
    a[2] = termios.CS8 | termios.CREAD | termios.CLOCAL
    a[4] = a[5] = termios.B9600
    termios.tcsetattr(s, termios.TCSANOW, a)
    name = os.ttyname(s)
    os.close(s)  # keep no slave open: POLLHUP on the master then means no client
    os.set_blocking(m, False)
    relink(name)
    state['m'] = m
    state['tty'] = name
def cleanup(*_):
    try:
        if os.readlink(path) == state['tty']:
            os.unlink(path)
    except OSError:
        pass
    os._exit(0)
signal.signal(signal.SIGTERM, cleanup)
signal.signal(signal.SIGINT, cleanup)
if os.getppid() == 1:
    sys.exit(0)
def line_state(m):
    p = select.poll()
    p.register(m, 0)
    hup = any(ev & select.POLLHUP for _, ev in p.poll(0))
    dtr = False
    baud = 0
    if not hup:
        try:
            a = termios.tcgetattr(m)
            baud = SPEEDS.get(a[5], -1)
            dtr = a[5] != termios.B0
        except termios.error:
            hup = True
    return hup, (dtr, baud)
def report(cur):
    if cur != state['last']:
        state['last'] = cur
        emit({'dtr': cur[0], 'baud': cur[1]})
def main():
    make()
    emit({'ready': True, 'tty': state['tty']})
    out = b''
    ctlbuf = b''
    while True:
        m = state['m']
        hup, cur = line_state(m)
        report(cur)
        if hup:
            out = b''
        p = select.poll()
        p.register(0, select.POLLIN)
        p.register(CTL, select.POLLIN)
        if not hup:
            p.register(m, select.POLLIN | (select.POLLOUT if out else 0))
        for fd, ev in p.poll(10):
            if fd == 0:
                data = os.read(0, 65536)
                if not data:
                    cleanup()
                if not hup:
                    out += data
            elif fd == CTL:
                data = os.read(CTL, 4096)
                if not data:
                    cleanup()
                ctlbuf += data
                while b'\n' in ctlbuf:
                    line, ctlbuf = ctlbuf.split(b'\n', 1)
                    if line.strip() == b'hangup':
                        old = state['m']
                        make()
                        os.close(old)
                        out = b''
                        state['last'] = None
                        emit({'hangup': True, 'tty': state['tty']})
            elif fd == m:
                if ev & select.POLLIN:
                    try:
                        data = os.read(m, 65536)
                        if data:
                            # the line as the client left it when it wrote these bytes: a client
                            # raises DTR before it writes, and hangs up after, so a raised DTR
                            # is reported before the bytes and a dropped one after them
                            _, now = line_state(m)
                            if now[0]:
                                report(now)
                            emit({'data': data.hex()})
                            report(now)
                    except OSError as e:
                        if e.errno not in (errno.EIO, errno.EAGAIN):
                            raise
                if ev & select.POLLOUT and out:
                    try:
                        n = os.write(m, out)
                        out = out[n:]
                    except OSError as e:
                        if e.errno == errno.EIO:
                            out = b''
                        elif e.errno != errno.EAGAIN:
                            raise
try:
    main()
except BrokenPipeError:
    pass
except BaseException:
    import traceback
    traceback.print_exc()
finally:
    cleanup()  # the parent went away (EPIPE), an error: never leave the link behind
`

/** What the helper reports about the client side of the line. */
export interface LineState {
  /** Some program has the port open with a speed other than B0. */
  dtr: boolean
  /** The speed the client set (0 = B0 or not open; -1 = a speed the helper has no name for). */
  baud: number
}

/** The python3 that runs the helper: Debian's, else whatever is on PATH. */
export function pythonPath(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
}

export class PtyEndpoint extends EventEmitter<{
  data: [Buffer]
  line: [LineState]
  hangup: []
  exit: [code: number | null]
}> {
  private child: ChildProcess | undefined
  private ctl: Socket | undefined
  private state: LineState = { dtr: false, baud: 0 }
  private stderr = ''
  /** The pty device the link points at now (`/dev/pts/7`). */
  tty = ''

  constructor(readonly path: string) {
    super()
  }

  get line(): LineState {
    return this.state
  }

  async start(): Promise<void> {
    const child = spawn(pythonPath(), ['-c', PTY_HELPER, this.path], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    })
    this.child = child
    const ctl = child.stdio[3] as Socket
    this.ctl = ctl
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (s: string) => {
      this.stderr = (this.stderr + s).slice(-2000)
    })
    child.stdout!.resume()
    child.stdin!.on('error', () => {})
    ctl.on('error', () => {})
    let buf = ''
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`pty helper for ${this.path} exited (${code}): ${this.stderr.trim()}`))
      child.once('exit', onExit)
      child.once('error', (e) => reject(new Error(`pty helper for ${this.path}: ${e.message}`)))
      ctl.setEncoding('utf8')
      ctl.on('data', (s: string) => {
        buf += s
        let nl = buf.indexOf('\n')
        while (nl >= 0) {
          const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>
          buf = buf.slice(nl + 1)
          if (msg.ready) {
            this.tty = String(msg.tty)
            child.off('exit', onExit)
            resolve()
          } else if (typeof msg.data === 'string') {
            this.emit('data', Buffer.from(msg.data, 'hex'))
          } else if (msg.hangup) {
            this.tty = String(msg.tty)
            this.emit('hangup')
          } else if (typeof msg.dtr === 'boolean') {
            this.state = { dtr: msg.dtr, baud: Number(msg.baud) }
            this.emit('line', this.state)
          }
          nl = buf.indexOf('\n')
        }
      })
    })
    child.on('exit', (code) => this.emit('exit', code))
  }

  /** Bytes to the client (what the device sends down the cable). Dropped while no client is there. */
  write(b: Buffer): void {
    if (this.child?.stdin?.writable) this.child.stdin.write(b)
  }

  /** Replace the pty: the client's open descriptor goes dead (EIO), the path gets a new pty. */
  hangup(): void {
    this.ctl?.write('hangup\n')
  }

  async stop(): Promise<void> {
    const child = this.child
    this.child = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.stdin?.end()
    const t = setTimeout(() => child.kill('SIGKILL'), 2000)
    child.kill('SIGTERM')
    await exited
    clearTimeout(t)
    this.ctl?.destroy()
  }
}
