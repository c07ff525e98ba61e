/**
 * Durations as users write them in ha.cf and fence-agents: `200ms`, `5s`, `2m`, `1h`;
 * a bare number is seconds (fence-agents' convention for timeouts).
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * The longest wait a Node timer can do: setTimeout/setInterval take a signed 32-bit count of
 * milliseconds, and a longer one fires at once (with a warning). Every duration of the config
 * stays at or below this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1

export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0)
      throw new RangeError(`expected a duration like 200ms or 5s, got ${input}`)
    return Math.round(input * 1000)
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(input)
  if (!m) throw new RangeError(`expected a duration like 200ms or 5s, got '${input}'`)
  // may be past any bound (even Infinity): callers check their range (config fields: Fields.duration)
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!)
}

/** A bound as people write it: `24h`, `10m`, `1s`, `250ms` (the largest unit that is exact). */
export function showMs(ms: number): string {
  for (const [unit, k] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms > 0 && ms % k === 0) return `${ms / k}${unit}`
  return `${ms}ms`
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)}s`
  return `${+(ms / 60_000).toFixed(2)}m`
}

/** Byte sizes: `64MiB`, `512KiB`, `1GiB`, a bare number is bytes. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0)
      throw new RangeError(`expected a size like 64MiB, got ${input}`)
    return input
  }
  const m = /^\s*(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*$/.exec(input)
  if (!m) throw new RangeError(`expected a size like 64MiB, got '${input}'`)
  const mult: Record<string, number> = {
    B: 1,
    KiB: 1024,
    MiB: 1024 ** 2,
    GiB: 1024 ** 3,
    KB: 1e3,
    MB: 1e6,
    GB: 1e9,
  }
  const bytes = Number(m[1]) * mult[m[2] ?? 'B']!
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`expected a size like 64MiB, got '${input}'`)
  return bytes
}

/** A size bound as people write it: `64KiB`, `16GiB` (the largest binary unit that is exact). */
export function showSize(bytes: number): string {
  for (const [unit, k] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const)
    if (bytes > 0 && bytes % k === 0) return `${bytes / k}${unit}`
  return `${bytes}B`
}
