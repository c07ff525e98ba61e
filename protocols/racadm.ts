/**
 * racadm over a DRAC 5 / CMC shell: the subset fencing uses (`racadm serveraction
 * powerstatus|powerup|powerdown|powercycle [-m server-N]`, `getmodinfo`), shared by the
 * drac-ssh driver and its mock. Per-model text is data here, not branches.
 */

export type DracModel = 'drac5' | 'cmc'

export interface DracModelText {
  /** What the shell prints after login, before the first prompt (fence_drac5 detects the model from it). */
  banner: string
  prompt: string
  /** The powerstatus answer for a state. */
  status: (state: 'ON' | 'OFF' | 'Powering ON' | 'Powering OFF') => string
}

export const MODELS: Readonly<Record<DracModel, DracModelText>> = {
  drac5: {
    banner:
      'Dell Remote Access Controller 5 (DRAC 5)\r\nFirmware Version 1.65 (Build 12.08.16)\r\nType "racadm help" to get racadm subcommands. Type "smclp" to invoke SMCLP interface.\r\n\r\n',
    prompt: '$ ',
    status: (s) => `Server power status: ${s}`,
  },
  cmc: {
    banner: 'Welcome to the CMC firmware version 6.21.A00.201811131056\r\n\r\n',
    prompt: '$ ',
    status: (s) => s,
  },
}

export type RacadmPowerOp = 'powerstatus' | 'powerup' | 'powerdown' | 'powercycle'

/** The command line for one operation; `module` (server-N) on a CMC. */
export function serverAction(op: RacadmPowerOp, module?: string): string {
  return module ? `racadm serveraction ${op} -m ${module}` : `racadm serveraction ${op}`
}

/** A parsed `racadm serveraction` command line (`-m` before or after the op), or undefined. */
export function parseServerAction(line: string): { op: string; module?: string } | undefined {
  const words = line.trim().split(/\s+/)
  if (words[0] !== 'racadm' || words[1] !== 'serveraction') return undefined
  let module: string | undefined
  const rest: string[] = []
  for (let i = 2; i < words.length; i++) {
    if (words[i] === '-m') module = words[++i] ?? ''
    else rest.push(words[i]!)
  }
  if (rest.length !== 1) return { op: rest.join(' ') }
  return module === undefined ? { op: rest[0]! } : { op: rest[0]!, module }
}

/** fence_drac5's status pattern: `Server power status: ON`, or `ON` alone on a CMC. */
const STATUS = /(?:^|: )(ON|OFF|Powering ON|Powering OFF)\s*$/im

/**
 * The power state in a powerstatus answer. Only OFF is off; `Powering OFF` still has power
 * (on); `Powering ON` is not on yet (unknown). Undefined: no status line at all.
 */
export function parseStatus(output: string): 'on' | 'off' | 'unknown' | undefined {
  const m = STATUS.exec(output)
  if (!m) return undefined
  const s = m[1]!.toUpperCase()
  return s === 'OFF' ? 'off' : s === 'POWERING ON' ? 'unknown' : 'on'
}

/** The first error line of racadm output (`ERROR: …`), or undefined. */
export function errorLine(output: string): string | undefined {
  const m = /^\s*(ERROR\b.*|COMMAND PROCESSING FAILED.*)$/im.exec(output)
  return m ? m[1]!.trim() : undefined
}

/** `getmodinfo` lines of present server modules: `server-3   Present   ON   OK   ABC1234`. */
export function parseModules(output: string): { module: string; power: 'on' | 'off' }[] {
  const out: { module: string; power: 'on' | 'off' }[] = []
  for (const line of output.split(/\r?\n/)) {
    const m = /^(server-\d+)\s+Present\s+(ON|OFF)\b/i.exec(line.trim())
    if (m) out.push({ module: m[1]!, power: m[2]!.toUpperCase() === 'ON' ? 'on' : 'off' })
  }
  return out
}
