import { performance } from 'node:perf_hooks'

/**
 * Output at the speed of a serial line: each chunk reaches the client when its last byte would
 * have left a UART at `baud` (8N1: 10 bits a byte), in order. A mock on a pty or TCP would
 * otherwise answer at memory speed and hide what real timing does to a client.
 */
export class PacedWriter {
  private queue: { at: number; bytes: Buffer }[] = []
  private timer: NodeJS.Timeout | undefined
  private lineFreeAt = 0

  constructor(
    private readonly sink: (b: Buffer) => void,
    /** Bytes per ms; Infinity = no pacing. */
    private readonly bytesPerMs: number,
  ) {}

  static forBaud(sink: (b: Buffer) => void, baud: number, paced: boolean): PacedWriter {
    return new PacedWriter(sink, paced ? baud / 10_000 : Number.POSITIVE_INFINITY)
  }

  write(bytes: Buffer): void {
    const now = performance.now()
    this.lineFreeAt = Math.max(now, this.lineFreeAt) + bytes.length / this.bytesPerMs
    this.queue.push({ at: this.lineFreeAt, bytes })
    this.pump()
  }

  /** Bytes still "on the wire" are lost (the line dropped, the unit reset). */
  clear(): void {
    this.queue = []
    this.lineFreeAt = 0
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private pump(): void {
    if (this.timer) return
    const now = performance.now()
    while (this.queue.length && this.queue[0]!.at <= now + 0.5) this.sink(this.queue.shift()!.bytes)
    const head = this.queue[0]
    if (!head) return
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        this.pump()
      },
      Math.max(1, head.at - now),
    )
  }
}
