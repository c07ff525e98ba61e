import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../agent/harness.js'

/**
 * Pacemaker's own tools judge the agent: stonith_admin (Debian pacemaker-cli-utils) asks for
 * its metadata and runs validate-all, as pcs and the fencer do. Both find the agent as a
 * fence_* file in /usr/sbin, where scripts/install-agent.sh puts it.
 */
let dir: string
let token: string

beforeAll(() => {
  execFileSync('sh', [path.join(ROOT, 'scripts/install-agent.sh')], { stdio: 'pipe' })
  dir = mkdtempSync(path.join(tmpdir(), 'fgag-admin-'))
  token = path.join(dir, 'token')
  writeFileSync(token, 'a-token\n', { mode: 0o600 })
  chmodSync(token, 0o600)
}, 120_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const admin = (...args: string[]) => {
  const r = spawnSync('stonith_admin', args, { encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('stonith_admin and fence_fencegate', () => {
  it('the agent is a regular executable file /usr/sbin/fence_fencegate', () => {
    const st = statSync('/usr/sbin/fence_fencegate')
    expect(st.isFile()).toBe(true)
    expect(st.mode & 0o111).toBe(0o111)
  })

  it('--metadata: the fencer reads our XML (on not automatic, plug, the actions)', () => {
    const r = admin('--metadata', '--agent', 'fence_fencegate')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/<resource-agent name="fence_fencegate"/)
    expect(r.stdout).toMatch(/<action name="on" automatic="0"\/>/)
    expect(r.stdout).toMatch(/<parameter name="plug" unique="0" required="0" obsoletes="port">/)
    for (const a of ['off', 'reboot', 'status', 'list', 'monitor'])
      expect(r.stdout).toContain(`<action name="${a}"/>`)
  })

  it('--validate: valid options pass', () => {
    const r = admin(
      '--validate',
      '--agent',
      'fence_fencegate',
      '-o',
      `token_file=${token}`,
      '-o',
      'url=https://gw.example:8443',
      '-o',
      'power_timeout=30',
      '-o',
      'pcmk_host_map=node1:rack1-n1',
    )
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/Validation of fence_fencegate succeeded/)
  })

  it('--validate: every bad option is named, with what was expected', () => {
    const r = admin(
      '--validate',
      '--agent',
      'fence_fencegate',
      '-o',
      `token_file=${token}`,
      '-o',
      'plug=3',
      '-o',
      'power_timeout=soon',
      '-o',
      'allow_simulated=perhaps',
    )
    expect(r.code).not.toBe(0)
    expect(r.stdout).toMatch(/Validation of fence_fencegate failed/)
    expect(r.stdout).toMatch(
      /Failed: plug is a node name known to the gateway \(e\.g\. node1\), not an outlet number/,
    )
    expect(r.stdout).toMatch(/Failed: power_timeout: expected a number of seconds from 1 to 3600, got 'soon'/)
    expect(r.stdout).toMatch(/Failed: allow_simulated: expected a boolean .* got 'perhaps'/)
  })

  it('--validate: an unsafe or missing token file is refused', () => {
    const open = path.join(dir, 'open')
    writeFileSync(open, 'a-token\n')
    chmodSync(open, 0o640)
    let r = admin('--validate', '--agent', 'fence_fencegate', '-o', `token_file=${open}`)
    expect(r.code).not.toBe(0)
    expect(r.stdout).toMatch(/Failed: token_file: .* is readable by group or others \(mode 640\); chmod 600/)
    r = admin('--validate', '--agent', 'fence_fencegate')
    expect(r.code).not.toBe(0)
    expect(r.stdout).toMatch(/Failed: token_file: required \(or password_script\)/)
  })
})
