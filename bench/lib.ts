/**
 * Helpers shared by the bench/*.bench.ts files: order statistics, timing a peer tool run as a
 * child process, and the fixed-width tables they print.
 */
import { spawn } from 'node:child_process'

/** The median of a non-empty sample (the upper one of the two middles for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** The p-th percentile (0..100) of a non-empty sample, nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.max(0, Math.min(s.length - 1, Math.ceil((s.length * p) / 100) - 1))]!
}

export interface TimedRun {
  ms: number
  code: number | null
  /** stdout and stderr, interleaved as they came */
  out: string
}

/**
 * Runs `cmd` to its end and times it, start-up included (what a cluster manager pays for a
 * fence agent). `stdin`, when given, is written to the child and closed; otherwise the child's
 * stdin is /dev/null.
 */
export function timeProcess(cmd: string, args: string[], stdin?: string): Promise<TimedRun> {
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    let out = ''
    c.stdout!.on('data', (d) => {
      out += d
    })
    c.stderr!.on('data', (d) => {
      out += d
    })
    c.on('error', reject)
    c.on('close', (code) => resolve({ ms: performance.now() - t0, code, out }))
    if (stdin !== undefined) c.stdin!.end(stdin)
  })
}

/**
 * Prints a header and rows: the first column left-aligned to widths[0], the others right-aligned
 * to theirs, cells separated by one space.
 */
export function printTable(
  widths: readonly number[],
  header: readonly string[],
  rows: readonly string[][],
): void {
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i] ?? 0))).join(' ')
  console.log(line(header))
  for (const r of rows) console.log(line(r))
}
