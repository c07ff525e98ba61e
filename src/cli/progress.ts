import type { CliIo } from './io.js'

const FRAMES = ['|', '/', '-', '\\']

/**
 * A one-line progress indicator on stderr, only when stderr is a terminal (scripts and pipes
 * get clean output). `update` gives a count; between updates a spinner shows it is alive.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined
  private frame = 0
  private done = 0
  private readonly started = Date.now()

  private constructor(
    private readonly io: CliIo,
    private readonly label: string,
    private readonly total: number,
  ) {
    this.timer = setInterval(() => this.draw(), 120)
    this.timer.unref()
    this.draw()
  }

  /** A progress line for `total` targets, or undefined when there is no terminal to show it on. */
  static start(io: CliIo, label: string, total: number, min = 2): Progress | undefined {
    return io.stderr.isTTY && total >= min ? new Progress(io, label, total) : undefined
  }

  update = (done: number, _total?: number): void => {
    this.done = done
    this.draw()
  }

  private draw(): void {
    const secs = ((Date.now() - this.started) / 1000).toFixed(1)
    this.frame = (this.frame + 1) % FRAMES.length
    this.io.stderr.write(
      `\r\x1b[K${FRAMES[this.frame]} ${this.label}: ${this.done}/${this.total} done, ${secs}s`,
    )
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.io.stderr.write('\r\x1b[K')
  }
}
