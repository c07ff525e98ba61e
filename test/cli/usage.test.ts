import { describe, expect, it } from 'vitest'
import { run } from './helpers.js'

/** Usage errors: exit 2 and exactly one line on stderr saying why; nothing on stdout. */
async function usage(args: string[], why: RegExp) {
  const r = await run(args)
  expect(r.code).toBe(2)
  expect(r.out).toBe('')
  expect(r.err.trimEnd().split('\n')).toHaveLength(1)
  expect(r.err).toMatch(/^fencegate: /)
  expect(r.err).toMatch(why)
}

describe('fencegate usage errors', () => {
  it('no command', () => usage([], /missing command/))
  it('unknown command, with a suggestion', () => usage(['stauts', 'n1'], /unknown command 'stauts'.*status/))
  it('serve with neither --config nor --demo', () => usage(['serve'], /--config FILE.*--demo/))
  it('serve with both', () => usage(['serve', '--demo', '--config', 'x.yaml'], /not both/))
  it('serve --listen without a port', () => usage(['serve', '--demo', '--listen', 'localhost'], /HOST:PORT/))
  it('serve --demo on an address other than loopback (plain HTTP: its token would cross the network in clear)', () =>
    usage(
      ['serve', '--demo', '--listen', '0.0.0.0:0'],
      /--listen 0\.0\.0\.0: the demo serves plain HTTP.*in clear/,
    ))
  it('off without targets', () => usage(['off'], /missing required argument 'targets'/))
  it('unknown option', () => usage(['status', 'n1', '--jsno'], /unknown option '--jsno'/))
  it('fence --action outside off|reboot', () => usage(['fence', 'n1', '--action', 'cycle'], /off, reboot/))
  it('--timeout that is not a duration', () => usage(['off', 'n1', '--timeout', 'soon'], /duration/))
  it('--timeout over an hour', () => usage(['off', 'n1', '--timeout', '2h'], /1s to 1h/))
  it('--url and --config together', () =>
    usage(['status', 'n1', '--url', 'http://127.0.0.1:1', '--config', '/x.yaml'], /not both/))
  it('a --url that is not http', () => usage(['status', 'n1', '--url', 'ftp://x'], /http/))
  it('history --since that is not a time', () => usage(['history', '--since', 'yesterday'], /ISO time/))
  it('history --outcome outside the list', () =>
    usage(['history', '--outcome', 'ok'], /success, failed, unverified, confirmed-by-operator, unknown/))
  it('check-config without a file', () => usage(['check-config'], /missing required argument 'file'/))
  it('token --role outside the roles', () => usage(['token', '--role', 'admin'], /viewer, operator, fencer/))
})

describe('hostlist errors point at the character', () => {
  it("unclosed '['", async () => {
    const r = await run(['off', 'node[1-4'])
    expect(r.code).toBe(2)
    expect(r.err).toBe("fencegate: hostlist 'node[1-4': '[' without ']' at character 5\n")
  })
  it('a bad range', async () => {
    const r = await run(['status', 'n[1-x]'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/at character 5/)
  })
  it('a hostlist past the size limit, or a number past 15 digits (before building or looping)', async () => {
    const big = await run(['status', 'a[1-99999]b[1-99999]'])
    expect(big.code).toBe(2)
    expect(big.err).toMatch(/9999800001 names, more than the limit of 100000 names per hostlist/)
    const long = await run(['off', 'n[100000000000000000000]'])
    expect(long.code).toBe(2)
    expect(long.err).toMatch(/21 digits, more than the limit of 15 at character 3/)
  })
  it('a backwards range', async () => {
    const r = await run(['fence', 'n[9-2]'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/goes backwards/)
  })
  it('on a terminal, a caret under the character', async () => {
    const r = await run(['on', 'a,,b'], { tty: true })
    expect(r.code).toBe(2)
    const lines = r.err.split('\n')
    expect(lines[0]).toMatch(/empty name at character 3/)
    expect(lines[1]).toBe('  a,,b')
    expect(lines[2]).toBe('    ^')
  })
  it('several arguments join as one hostlist (errors still point into it)', async () => {
    const r = await run(['status', 'n1', 'n]'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/'n1,n\]'.*at character 5/)
  })
})

describe('help and version', () => {
  it('--help: usage and the quick start, exit 0', async () => {
    const r = await run(['--help'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/Usage: fencegate/)
    expect(r.out).toMatch(/fencegate serve --demo/)
    for (const c of [
      'status',
      'on',
      'off',
      'cycle',
      'reboot',
      'fence',
      'list',
      'history',
      'check-config',
      'serve',
      'lab',
      'token',
    ])
      expect(r.out).toMatch(new RegExp(`\\n  ${c} `))
  })
  it('a command’s --help', async () => {
    const r = await run(['fence', '--help'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/--action <action>/)
  })
  it('--version prints the package version', async () => {
    const r = await run(['--version'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^fencegate \d+\.\d+\.\d+\n$/)
  })
})
