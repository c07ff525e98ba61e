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

export interface CpuTimedRun extends TimedRun {
  /** user + system CPU time of the child, ms (10 ms resolution); undefined without /usr/bin/time */
  cpuMs: number | undefined
}

/**
 * timeProcess, plus the child's CPU time read by GNU time (Debian package `time`): on a machine
 * shared with other work, CPU time hardly moves while wall time swings with the load.
 */
export async function timeProcessCpu(cmd: string, args: string[], stdin?: string): Promise<CpuTimedRun> {
  const { existsSync, mkdtempSync, readFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const path = await import('node:path')
  if (!existsSync('/usr/bin/time')) return { ...(await timeProcess(cmd, args, stdin)), cpuMs: undefined }
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-time-'))
  const file = path.join(dir, 'time')
  try {
    const r = await timeProcess('/usr/bin/time', ['-q', '-o', file, '-f', '%U %S', cmd, ...args], stdin)
    const [user, sys] = readFileSync(file, 'utf8').trim().split(/\s+/).slice(-2).map(Number)
    return { ...r, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000 }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
