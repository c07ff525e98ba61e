import { execFileSync, spawn } from 'node:child_process'
import { existsSync, openSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ProcessRun, runProcess } from '../helpers/process.js'

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cluster.sh')
export const NODE_NAME = 'fgag-node'

const COROSYNC_CONF = `totem {
  version: 2
  cluster_name: fgag
  transport: knet
  crypto_cipher: none
  crypto_hash: none
}
nodelist {
  node {
    ring0_addr: 127.0.0.1
    name: ${NODE_NAME}
    nodeid: 1
  }
}
quorum {
  provider: corosync_votequorum
}
logging {
  to_stderr: yes
  to_logfile: no
  to_syslog: no
}
`

/**
 * The starting CIB: a short dc-deadtime (the default 20 s is most of the start-up time of a
 * one-node cluster), fencing enabled, and the test's resources.
 */
export function cibXml(resources: string): string {
  return `<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="o-dc-deadtime" name="dc-deadtime" value="2s"/>
        <nvpair id="o-stonith-enabled" name="stonith-enabled" value="true"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>${resources}</resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
`
}

export type Exec = ProcessRun

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The inode of a process's network namespace: every process of the cluster shares it. */
const netns = (pid: number | string): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`)
  } catch {
    return undefined
  }
}

export class Cluster {
  private readonly ns: string | undefined

  private constructor(
    readonly dir: string,
    readonly pid: number,
    private readonly exited: Promise<void>,
  ) {
    this.ns = netns(pid)
  }

  /**
   * Start cluster.sh under `unshare -n -u -m`; `wire(pid)` runs once the namespace exists and
   * returns the CIB resources (it starts the gateway, whose URL the CIB names).
   */
  static async start(dir: string, wire: (pid: number) => Promise<string>): Promise<Cluster> {
    writeFileSync(path.join(dir, 'corosync.conf'), COROSYNC_CONF)
    const log = openSync(path.join(dir, 'runner.log'), 'a')
    const child = spawn('unshare', ['-n', '-u', '-m', 'bash', SCRIPT, dir], {
      detached: true, // its own process group, so the test's signals do not reach it by accident
      stdio: ['ignore', log, log],
    })
    let done = false
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    exited.then(() => {
      done = true
    })
    const pid = child.pid!
    // cluster.sh may wait for another test's corosync (the machine-wide lock)
    for (let i = 0; i < 2400 && !existsSync(path.join(dir, 'ns-ready')); i++) {
      if (done)
        throw new Error(`cluster.sh exited early: ${readFileSync(path.join(dir, 'runner.log'), 'utf8')}`)
      await sleep(100)
    }
    const cluster = new Cluster(dir, pid, exited)
    try {
      if (!existsSync(path.join(dir, 'ns-ready'))) throw new Error('cluster.sh never got the corosync lock')
      writeFileSync(path.join(dir, 'cib.xml'), cibXml(await wire(pid)))
      writeFileSync(path.join(dir, 'go'), '')
      await cluster.waitFor('the DC election', async () => {
        const r = await cluster.exec(['crm_mon', '-1'])
        return r.stdout.includes(`Current DC: ${NODE_NAME}`)
      })
    } catch (e) {
      await cluster.stop()
      throw e
    }
    return cluster
  }

  /** Run a command inside the cluster's namespaces (network, host name, mounts). */
  exec(cmd: string[], timeoutMs = 60_000): Promise<Exec> {
    return runProcess('nsenter', ['-t', String(this.pid), '-n', '-u', '-m', ...cmd], { timeoutMs })
  }

  async waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
    const end = performance.now() + timeoutMs
    while (performance.now() < end) {
      if (await check()) return
      await sleep(500)
    }
    throw new Error(`cluster: timed out waiting for ${what}; pacemaker log:\n${this.logTail()}`)
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(path.join(this.dir, 'pacemaker.log'), 'utf8').split('\n').slice(-lines).join('\n')
    } catch {
      return '(no log)'
    }
  }

  /** Every process in the cluster's network namespace: all of them are ours. */
  private members(): number[] {
    const out: number[] = []
    if (!this.ns) return out
    for (const e of readdirSync('/proc')) if (/^\d+$/.test(e) && netns(e) === this.ns) out.push(Number(e))
    return out
  }

  /**
   * Stop in order (cluster.sh stops pacemakerd, then corosync), then SIGKILL anything left in
   * the namespace. Safe to call twice and after a failed start.
   */
  async stop(): Promise<void> {
    try {
      process.kill(this.pid, 'SIGTERM')
    } catch {}
    await Promise.race([this.exited, sleep(30_000)])
    for (let i = 0; i < 3; i++) {
      const left = this.members()
      if (!left.length) return
      for (const p of left)
        try {
          process.kill(p, 'SIGKILL')
        } catch {}
      await sleep(500)
    }
  }
}

/** `ip` in the host namespace; errors carry ip's message. */
export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' })
}
