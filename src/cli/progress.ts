import type { CliIo } from './io.js'

const FRAMES = ['|', '/', '-', '\\']

/**
 * A one-line progress indicator on stderr, only when stderr is a terminal (scripts and pipes
 * get clean output). `update` gives a count where the backend has one; a spinner and the
 * elapsed time show it is alive.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined
  private frame = 0
  private done = 0
  private readonly started = Date.now()

  private constructor(
    private readonly io: CliIo,
    private readonly label: string,
    /** Undefined: no count (one round, e.g. a status read), just the spinner and the time. */
    private readonly total: number | undefined,
  ) {
    this.timer = setInterval(() => this.draw(), 120)
    this.timer.unref()
    this.draw()
  }

  /**
   * A progress line over `targets` targets (only for several: one target answers fast enough),
   * or undefined when there is no terminal to show it on.
   */
  static start(
    io: CliIo,
    label: string,
    targets: number,
    opts: { count?: boolean } = {},
  ): Progress | undefined {
    if (!io.stderr.isTTY || targets < 2) return undefined
    return new Progress(io, label, opts.count === false ? undefined : targets)
  }

  update = (done: number, _total?: number): void => {
    this.done = done
    this.draw()
  }

  private draw(): void {
    const secs = ((Date.now() - this.started) / 1000).toFixed(1)
    this.frame = (this.frame + 1) % FRAMES.length
    const count = this.total === undefined ? '' : ` ${this.done}/${this.total} done,`
    this.io.stderr.write(`\r\x1b[K${FRAMES[this.frame]} ${this.label}:${count} ${secs}s`)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.io.stderr.write('\r\x1b[K')
  }
}
