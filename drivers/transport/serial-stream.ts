import { SerialPort } from 'serialport'
import { sleep } from '../../core/deadline.js'
import { FenceError, abortError } from '../../core/errors.js'
import { untilAborted } from '../../core/deadline.js'
import { type ByteStream, ReceiveBuffer, openError } from './byte-stream.js'

export interface SerialStreamOptions {
  /** `/dev/ttyS1`, `/dev/serial/by-id/…`, or a pty path. */
  path: string
  baud: number
}

/**
 * A local serial port through the `serialport` package: 8N1, no flow control (the RPS-10 wires
 * RTS high and needs none), an exclusive lock so two gateways never talk over each other.
 */
export class SerialStream implements ByteStream {
  readonly transport = 'tty' as const
  readonly label: string
  readonly rx = new ReceiveBuffer()
  private port: SerialPort | undefined

  constructor(private readonly opts: SerialStreamOptions) {
    this.label = opts.path
  }

  get isOpen(): boolean {
    return !!this.port?.isOpen
  }

  async open(signal: AbortSignal): Promise<void> {
    if (this.isOpen) return
    if (signal.aborted) throw abortError(signal)
    const port = new SerialPort({
      path: this.opts.path,
      baudRate: this.opts.baud,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      rtscts: false,
      autoOpen: false,
      lock: true,
    })
    // a USB adapter that hangs its open must not outlast the call; a port that opens too late is closed
    await untilAborted(
      new Promise<SerialPort>((resolve, reject) =>
        port.open((e) => (e ? reject(openError(this.label, e)) : resolve(port))),
      ),
      signal,
      (late) => void closePort(late),
    )
    this.rx.reopen()
    port.on('data', (b: Buffer) => this.rx.push(b))
    port.on('error', () => {})
    port.on('close', (e: (Error & { disconnected?: boolean }) | null) => {
      if (this.port !== port) return
      this.port = undefined
      this.rx.close(
        new FenceError(
          'CONNECTION_LOST',
          `${this.label}: ${e?.disconnected ? 'the serial device disappeared' : 'port closed'}`,
        ),
      )
    })
    this.port = port
  }

  async write(bytes: Buffer, signal: AbortSignal): Promise<void> {
    const port = this.port
    if (!port?.isOpen) throw new FenceError('CONNECTION_LOST', `${this.label}: not open`)
    if (signal.aborted) throw abortError(signal)
    // drain = tcdrain: resolves once the bytes have left the UART, which a stuck adapter never
    // lets happen: the caller's signal ends the wait
    await untilAborted(
      new Promise<void>((resolve, reject) => {
        port.write(bytes)
        port.drain((e) =>
          e
            ? reject(new FenceError('CONNECTION_LOST', `${this.label}: write failed: ${e.message}`))
            : resolve(),
        )
      }),
      signal,
    )
  }

  /**
   * The POSIX hang-up, as minicom and cluster-glue do it: set the speed to B0 (which drops DTR
   * on a real UART and is what a pty-backed mock watches for), wait, restore the speed. If the
   * driver refuses B0, fall back to the modem-control ioctl.
   */
  async hangup(lowMs: number, signal: AbortSignal): Promise<void> {
    const port = this.port
    if (!port?.isOpen) throw new FenceError('CONNECTION_LOST', `${this.label}: not open`)
    const update = (baudRate: number) =>
      new Promise<void>((resolve, reject) => port.update({ baudRate }, (e) => (e ? reject(e) : resolve())))
    const dtr = (on: boolean) =>
      new Promise<void>((resolve, reject) =>
        port.set({ dtr: on, rts: true }, (e) => (e ? reject(e) : resolve())),
      )
    let viaSpeed = true
    try {
      await update(0)
    } catch {
      viaSpeed = false
      await dtr(false).catch((e: Error) => {
        throw new FenceError('DEVICE_ERROR', `${this.label}: cannot drop DTR: ${e.message}`)
      })
    }
    try {
      await sleep(lowMs, signal)
    } finally {
      // raise DTR again even when aborted: a port left at B0 is useless to the next call
      if (port.isOpen) await (viaSpeed ? update(this.opts.baud) : dtr(true)).catch(() => {})
    }
  }

  async close(): Promise<void> {
    const port = this.port
    this.port = undefined
    if (port?.isOpen) await closePort(port)
    this.rx.close(new FenceError('CONNECTION_LOST', `${this.label}: closed`))
  }
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => port.close(() => resolve()))
}
