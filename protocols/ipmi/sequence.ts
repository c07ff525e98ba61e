/**
 * RMCP+ session sequence numbers: 32 bits, +1 per packet, 0 skipped on wrap. A receiver
 * accepts a window around the highest number it has authenticated so far, and raises the
 * high-water mark only after the AuthCode checked out (so a forged packet cannot move it).
 */

export function nextSeq(seq: number): number {
  return (seq + 1) >>> 0 || 1
}

export type SeqVerdict = 'zero' | 'too-old' | 'too-far-ahead' | 'replayed'

export class SequenceWindow {
  private highest: number | undefined
  /** Bit i set: highest − i was accepted. */
  private mask = 0

  /**
   * @param behind how far below the highest an out-of-order packet may be (< 32)
   * @param ahead how far above the highest the next packet may jump
   * @param allowDuplicates accept a number twice (OpenIPMI does, so that a client's
   *   retransmission of the very same bytes is answered); a client should not.
   */
  constructor(
    readonly behind: number,
    readonly ahead: number,
    readonly allowDuplicates: boolean,
  ) {
    if (behind >= 32) throw new RangeError('window reaches back at most 31')
  }

  /** Why `seq` is refused, or undefined when it is acceptable. The first authenticated packet of a session sets the mark. */
  check(seq: number): SeqVerdict | undefined {
    if (seq === 0) return 'zero'
    if (this.highest === undefined) return undefined
    const d = (seq - this.highest) | 0
    if (d > this.ahead) return 'too-far-ahead'
    if (d > 0) return undefined
    if (-d > this.behind) return 'too-old'
    if (!this.allowDuplicates && (this.mask >>> -d) & 1) return 'replayed'
    return undefined
  }

  /** Record an authenticated packet's number (call only after `check` passed). */
  accept(seq: number): void {
    if (this.highest === undefined) {
      this.highest = seq
      this.mask = 1
      return
    }
    const d = (seq - this.highest) | 0
    if (d > 0) {
      this.mask = d >= 32 ? 1 : ((this.mask << d) | 1) >>> 0
      this.highest = seq
    } else if (-d < 32) {
      this.mask = (this.mask | (1 << -d)) >>> 0
    }
  }
}
