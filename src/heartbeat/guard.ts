import { readFile, readdir } from 'node:fs/promises'

/**
 * Heartbeat fencing needs fencegate to be the cluster's only membership authority (design rule
 * 10). corosync/Pacemaker (and a heartbeat daemon) fence on their own membership, with their own
 * timing: beside them, each authority could kill a node of the other's majority. So we look for
 * them among the running processes, at start (refuse) and then periodically (block fencing).
 */
export const OTHER_AUTHORITIES: Record<string, string> = {
  corosync: 'corosync',
  pacemakerd: 'Pacemaker',
  'pacemaker-based': 'Pacemaker',
  'pacemaker-fenced': 'Pacemaker',
  'pacemaker-contro': 'Pacemaker', // comm is cut at 15 characters: pacemaker-controld
  'pacemaker-execd': 'Pacemaker',
  crmd: 'Pacemaker (heartbeat CRM)',
  stonithd: 'Pacemaker (heartbeat CRM)',
  heartbeat: 'Linux-HA heartbeat',
}

export interface Authority {
  pid: number
  comm: string
  what: string
}

/** The other membership authorities running on this machine (as /proc shows them to us). */
export async function findOtherAuthorities(proc = '/proc'): Promise<Authority[]> {
  const found: Authority[] = []
  let entries: string[]
  try {
    entries = await readdir(proc)
  } catch {
    return found
  }
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (pid) => {
        try {
          const comm = (await readFile(`${proc}/${pid}/comm`, 'utf8')).trim()
          const what = OTHER_AUTHORITIES[comm]
          if (what) found.push({ pid: Number(pid), comm, what })
        } catch {
          // the process ended while we looked
        }
      }),
  )
  return found.sort((a, b) => a.pid - b.pid)
}

export function describeAuthorities(list: Authority[]): string {
  return list.map((a) => `${a.what} runs here (${a.comm}, pid ${a.pid})`).join('; ')
}
