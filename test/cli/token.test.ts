import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readConfig } from '../../src/config/config.js'
import { run, tempDir } from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.remove())
const sha = (s: string) => createHash('sha256').update(s).digest('hex')

describe('fencegate token', () => {
  it('prints a fresh token, its sha256 hash and a config line that the config accepts', async () => {
    const r = await run(['token', '--name', 'pacemaker', '--role', 'fencer'])
    expect(r.code).toBe(0)
    const [tokenLine, hashLine, configLine] = r.out.trimEnd().split('\n')
    const token = /^token: ([A-Za-z0-9_-]{43})$/.exec(tokenLine!)![1]!
    expect(hashLine).toBe(`hash: sha256:${sha(token)}`)
    const entry = configLine!.replace(/^config \(under auth.tokens\): /, '')
    const { parse } = await import('yaml')
    const { config, problems } = readConfig({
      auth: { tokens: parse(entry) },
      devices: {},
      nodes: {},
    })
    expect(problems).toEqual([])
    expect(config.tokens[0]).toMatchObject({ name: 'pacemaker', role: 'fencer' })
    expect(config.tokens[0]!.hash.toString('hex')).toBe(sha(token))
    const again = await run(['token'])
    expect(again.out).not.toContain(token)
  })

  it('--out writes the token to a 0600 file and never overwrites', async () => {
    const f = path.join(tmp.dir, 'tok')
    const r = await run(['token', '--out', f])
    expect(r.code).toBe(0)
    const token = readFileSync(f, 'utf8').trim()
    expect(statSync(f).mode & 0o777).toBe(0o600)
    expect(r.out).not.toContain(token)
    expect(r.out).toContain(`hash: sha256:${sha(token)}`)
    const second = await run(['token', '--out', f])
    expect(second.code).toBe(1)
    expect(second.err).toMatch(/EEXIST/)
    expect(readFileSync(f, 'utf8').trim()).toBe(token)
  })

  it('--json', async () => {
    const r = await run(['token', '--json'])
    const j = JSON.parse(r.out)
    expect(j.hash).toBe(`sha256:${sha(j.token)}`)
    expect(j.role).toBe('operator')
  })
})
