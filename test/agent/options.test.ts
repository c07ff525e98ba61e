import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { metadataXml } from '../../src/agent/metadata.js'
import { parseArgv, parseStdin } from '../../src/agent/parse.js'
import { resolveOptions } from '../../src/agent/resolve.js'
import { runAgent } from '../../src/agent/run.js'

const dir = mkdtempSync(path.join(tmpdir(), 'fgag-unit-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const token = path.join(dir, 'token')
writeFileSync(token, 'secret-token-value\n', { mode: 0o600 })
chmodSync(token, 0o600)

const fromStdin = (text: string, env: NodeJS.ProcessEnv = {}) => {
  const raw = parseStdin(text)
  return { raw, ...resolveOptions(raw, env) }
}
const fromArgv = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const raw = parseArgv(argv)
  return { raw, ...resolveOptions(raw, env) }
}

/** Run the agent in-process with a recording io (stdin form unless argv is given). */
async function run(stdin: string, argv: string[] = []) {
  const out: string[] = []
  const err: string[] = []
  const code = await runAgent({
    argv,
    readStdin: async () => stdin,
    env: {},
    io: { out: (l) => out.push(l), err: (l) => err.push(l), warn: (l) => err.push(l), debug: () => {} },
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('stdin form (Pacemaker)', () => {
  it('reads key=value lines as Pacemaker writes them', () => {
    const { options, problems, raw } = fromStdin(
      `action=off\nnodename=victim\nplug=victim\nurl=http://gw:8443\ntoken_file=${token}\npower_timeout=30\n`,
    )
    expect(problems).toEqual([])
    expect(raw.warnings).toEqual([]) // nodename is accepted silently
    expect(options).toMatchObject({ action: 'off', plug: 'victim', tokenFile: token, powerTimeoutMs: 30_000 })
    expect(options.urls[0]!.href).toBe('http://gw:8443/')
  })

  it('skips comments and blank lines, strips quotes, takes the last value, - and _ alike', () => {
    const { options, problems } = fromStdin(
      `# a comment\n\n  action=status  \nplug="node1"\npower-timeout=5\npower_timeout=7\ntoken-file=${token}\n`,
    )
    expect(problems).toEqual([])
    expect(options).toMatchObject({ action: 'status', plug: 'node1', powerTimeoutMs: 7000 })
  })

  it('accepts the old names port and passwd_script, and nodeid silently', () => {
    const { options, problems, raw } = fromStdin('action=on\nport=node2\npasswd_script=cat /x\nnodeid=3\n')
    expect(problems).toEqual([])
    expect(raw.warnings).toEqual([])
    expect(options).toMatchObject({ plug: 'node2', passwordScript: 'cat /x' })
  })

  it('warns about unknown options without echoing their value, and goes on', () => {
    const { problems, raw } = fromStdin(
      `action=status\nplug=n1\ntoken_file=${token}\nsnmp_community=topsecret\n`,
    )
    expect(problems).toEqual([])
    expect(raw.warnings).toEqual(["Parse error: Ignoring unknown option 'snmp_community'"])
    expect(raw.warnings.join()).not.toContain('topsecret')
  })

  it('accepts options of other agents and says why they are ignored', () => {
    const { problems, raw } = fromStdin(
      `action=off\nplug=n1\ntoken_file=${token}\npower_wait=4\nmethod=cycle\n`,
    )
    expect(problems).toEqual([])
    expect(raw.warnings).toHaveLength(2)
    expect(raw.warnings[0]).toMatch(/^Note: option 'power_wait' is accepted and ignored: .*powerWait/)
    expect(raw.warnings[1]).toMatch(/'method'.*never a device cycle/)
  })

  it('refuses the token as a parameter (password), naming the safe ways', () => {
    const { problems } = fromStdin('action=status\nplug=n1\npassword=abc\n')
    expect(problems.join('\n')).toMatch(/^password: .*token_file or password_script/m)
    expect(problems.join('\n')).not.toContain('abc')
  })

  it('reads booleans as fence-agents do, and refuses anything else', () => {
    for (const v of ['1', 'yes', 'on', 'true', 'TRUE'])
      expect(
        fromStdin(`action=list\ntoken_file=${token}\nallow_simulated=${v}\n`).options.allowSimulated,
      ).toBe(true)
    for (const v of ['0', 'no', 'off', 'false'])
      expect(
        fromStdin(`action=list\ntoken_file=${token}\nallow_simulated=${v}\n`).options.allowSimulated,
      ).toBe(false)
    expect(fromStdin(`action=list\ntoken_file=${token}\nallow_simulated=maybe\n`).problems).toEqual([
      "allow_simulated: expected a boolean (1/yes/on/true or 0/no/off/false), got 'maybe'",
    ])
  })

  it('defaults: reboot, 40 s, 2 s, no delay, FENCEGATE_URL else 127.0.0.1:8443', () => {
    const a = fromStdin(`plug=n1\ntoken_file=${token}\n`)
    expect(a.problems).toEqual([])
    expect(a.options).toMatchObject({
      action: 'reboot',
      powerTimeoutMs: 40_000,
      connectTimeoutMs: 2000,
      delayMs: 0,
    })
    expect(a.options.urls[0]!.href).toBe('http://127.0.0.1:8443/')
    const b = fromStdin(`plug=n1\ntoken_file=${token}\n`, { FENCEGATE_URL: 'https://gw.example:9443' })
    expect(b.options.urls[0]!.href).toBe('https://gw.example:9443/')
  })
})

describe('getopt form (any argument)', () => {
  it('reads short, long, attached and separate values, bundled switches', () => {
    const { options, problems, raw } = fromArgv([
      '-o',
      'status',
      '-nnode7',
      '--url=http://10.0.0.1:8443',
      '--token-file',
      token,
      '-vq',
      '--power-timeout=12.5',
      '--allow-simulated',
    ])
    expect(problems).toEqual([])
    expect(raw.warnings).toEqual([])
    expect(options).toMatchObject({
      action: 'status',
      plug: 'node7',
      verbose: true,
      quiet: true,
      powerTimeoutMs: 12_500,
      allowSimulated: true,
    })
  })

  it('warns about unknown flags and leftover words, and takes an ignored option with its value', () => {
    const { problems, raw, options } = fromArgv([
      '-o',
      'list',
      `--token-file=${token}`,
      '--power-wait',
      '3',
      '--frobnicate',
      '-Z',
      'extra',
    ])
    expect(problems).toEqual([])
    expect(options.action).toBe('list')
    expect(raw.warnings).toEqual([
      expect.stringMatching(/^Note: option 'power_wait' is accepted and ignored/),
      "Parse error: Ignoring unknown option '--frobnicate'",
      "Parse error: Ignoring unknown option '-Z'",
      'Unused arguments on command line: extra',
    ])
  })

  it('a flag without its value is a problem', () => {
    expect(fromArgv(['-o', 'list', '--token-file', token, '-n']).problems).toEqual([
      'plug: -n expects a value',
    ])
  })
})

describe('bad values: clear problems naming the option and what was expected', () => {
  const base = `token_file=${token}\n`
  const cases: [string, RegExp][] = [
    ['action=frob\n', /^Unrecognised action 'frob' \(expected one of on, off, reboot, status/],
    [
      'action=off\nplug=3\n',
      /^plug is a node name known to the gateway \(e\.g\. node1\), not an outlet number.*got '3'/,
    ],
    ['action=off\nplug=1,2\n', /not an outlet number.*got '1,2'/],
    ['action=off\nplug=node1,node2\n', /^plug: expected one node name, got 'node1,node2' \(never a list/],
    ['action=off\nplug=no/de\n', /^plug: expected a node name known to the gateway .*got 'no\/de'/],
    ['action=off\nplug=\n', /^plug: expected a node name .*got an empty value/],
    ['action=off\n', /^plug: required for action 'off'/],
    [
      'action=status\nplug=n1\npower_timeout=abc\n',
      /^power_timeout: expected a number of seconds from 1 to 3600, got 'abc'/,
    ],
    ['action=status\nplug=n1\npower_timeout=0\n', /^power_timeout: .*got '0'/],
    [
      'action=status\nplug=n1\nconnect_timeout=0\n',
      /^connect_timeout: expected a number of seconds above 0 to 60/,
    ],
    ['action=off\nplug=n1\ndelay=-1\n', /^delay: expected a number of seconds from 0 to 3600, got '-1'/],
    ['action=status\nplug=n1\nurl=ftp://x\n', /^url: expected an http:\/\/ or https:\/\/ URL/],
    ['action=status\nplug=n1\nurl=not a url\n', /^url: expected the gateway's URL like http/],
    ['action=status\nplug=n1\nurl=http://u:p@gw:1\n', /^url: credentials in the URL are not accepted/],
    ['action=status\nplug=n1\nverbose=loud\n', /^verbose: expected a boolean/],
    ['action=list\nseparator=\n', /^separator: expected one or more characters/],
  ]
  for (const [input, want] of cases)
    it(JSON.stringify(input), () => {
      const { problems } = fromStdin(base + input)
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(want)
    })

  it('needs a token source, and only one', () => {
    expect(fromStdin('action=list\n').problems).toEqual([
      expect.stringMatching(/^token_file: required \(or password_script\)/),
    ])
    expect(fromStdin(`action=list\ntoken_file=${token}\npassword_script=cat x\n`).problems).toEqual([
      'token_file, password_script: give one of them, not both',
    ])
  })

  it('the agent exits 1 with one Failed: line per problem, contacting nothing', async () => {
    const r = await run('action=off\nplug=3\npower_timeout=x\nurl=http://127.0.0.1:1\n')
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    expect(r.err.split('\n')).toEqual([
      expect.stringMatching(/^Failed: plug is a node name known to the gateway/),
      expect.stringMatching(/^Failed: power_timeout: /),
      expect.stringMatching(/^Failed: token_file: required/),
    ])
  })
})

describe('help and version (getopt only)', () => {
  it('-h prints every option, -V the version; both exit 0 without a token', async () => {
    const h = await run('', ['-h'])
    expect(h.code).toBe(0)
    expect(h.out).toMatch(/^Usage: fence_fencegate \[options\]/)
    for (const flag of [
      '-o, --action=[action]',
      '--url=[url]',
      '-n, --plug=[node]',
      '--power-timeout=[seconds]',
    ])
      expect(h.out).toContain(flag)
    // the URL default once, not twice
    const urlLine = h.out.split('\n').find((l) => l.includes('--url='))!
    expect(urlLine.split('http://127.0.0.1:8443')).toHaveLength(2)
    expect(urlLine).toMatch(/comma-separated list of its replicas/)
    const v = await run('', ['-V'])
    expect(v).toMatchObject({ code: 0, out: expect.stringMatching(/^fence_fencegate \d+\.\d+\.\d+$/) })
  })
})

describe('validate-all', () => {
  it('passes with a safe token file, without contacting the gateway', async () => {
    const r = await run(`action=validate-all\ntoken_file=${token}\nurl=http://127.0.0.1:1\n`)
    expect(r).toEqual({ code: 0, out: '', err: '' })
  })

  it('refuses a token file others can read, a missing one, an empty one', async () => {
    const open = path.join(dir, 'open')
    writeFileSync(open, 'x\n')
    chmodSync(open, 0o644)
    let r = await run(`action=validate-all\ntoken_file=${open}\n`)
    expect(r.code).toBe(1)
    expect(r.err).toBe(
      `Failed: token_file: ${open} is readable by group or others (mode 644); chmod 600 ${open}`,
    )
    r = await run(`action=validate-all\ntoken_file=${dir}/missing\n`)
    expect(r.err).toBe(`Failed: token_file: cannot read ${dir}/missing: no such file (ENOENT)`)
    const empty = path.join(dir, 'empty')
    writeFileSync(empty, '', { mode: 0o600 })
    r = await run(`action=validate-all\ntoken_file=${empty}\n`)
    expect(r.err).toBe(`Failed: token_file ${empty} is empty (expected the API token)`)
  })

  it('the getopt form too', async () => {
    expect((await run('', ['-o', 'validate-all', '--token-file', token])).code).toBe(0)
  })
})

describe('metadata', () => {
  it('is valid against fence-agents RelaxNG schema', () => {
    const rng = '/usr/share/cluster/relaxng/metadata.rng'
    const file = path.join(dir, 'meta.xml')
    writeFileSync(file, metadataXml())
    const out = execFileSync('xmllint', ['--noout', '--relaxng', rng, file], {
      encoding: 'utf8',
      stdio: 'pipe',
    })
    expect(out).toBe('')
  })

  it('has the fence-agents shape: on not automatic, plug obsoleting port, the actions Pacemaker looks for', () => {
    const xml = metadataXml()
    expect(xml).toMatch(
      /^<\?xml version="1\.0" \?>\n<resource-agent name="fence_fencegate" shortdesc="[^"]+" >/,
    )
    expect(xml).toContain('<action name="on" automatic="0"/>')
    for (const a of ['off', 'reboot', 'status', 'list', 'list-status', 'monitor', 'metadata', 'validate-all'])
      expect(xml).toContain(`<action name="${a}" />`)
    expect(xml).toMatch(
      /<parameter name="plug" unique="0" required="0" obsoletes="port">\s*<getopt mixed="-n, --plug=\[node\]" \/>/,
    )
    expect(xml).toMatch(/<parameter name="port" unique="0" required="0" deprecated="1">/)
    expect(xml).toMatch(
      /<parameter name="power_timeout"[^>]*>\s*<getopt[^>]*>\s*<content type="second" default="40" \/>/,
    )
    expect(xml).toMatch(
      /<parameter name="allow_simulated"[^>]*>\s*<getopt mixed="--allow-simulated" \/>\s*<content type="boolean"/,
    )
    expect(xml).not.toContain('name="help"')
  })

  it('is printed for action=metadata and meta-data, without a token', async () => {
    for (const a of ['metadata', 'meta-data']) {
      const r = await run(`action=${a}\n`)
      expect(r.code).toBe(0)
      expect(r.out).toBe(metadataXml().trimEnd())
    }
  })
})
