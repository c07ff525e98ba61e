import { describe, expect, it } from 'vitest'
import { HostlistError, compressHostlist, expandHostlist } from './hostlist.js'

describe('expandHostlist', () => {
  it('expands ranges and lists', () => {
    expect(expandHostlist('node[1-3,20]')).toEqual(['node1', 'node2', 'node3', 'node20'])
  })
  it('keeps zero padding', () => {
    expect(expandHostlist('n[01-03]')).toEqual(['n01', 'n02', 'n03'])
    expect(expandHostlist('n[08-10]')).toEqual(['n08', 'n09', 'n10'])
  })
  it('takes several terms and single names', () => {
    expect(expandHostlist('a[1-2],b3,c')).toEqual(['a1', 'a2', 'b3', 'c'])
  })
  it('takes several ranges in one term, and suffixes', () => {
    expect(expandHostlist('r[1-2]n[1-2]-bmc')).toEqual(['r1n1-bmc', 'r1n2-bmc', 'r2n1-bmc', 'r2n2-bmc'])
  })
  it('drops repeats, keeps order', () => {
    expect(expandHostlist('b,a,b,n[2-1]'.replace(',n[2-1]', ''))).toEqual(['b', 'a'])
  })
  it.each([
    ['node[1-3', 4, "'[' without ']'"],
    ['node]1', 4, "']' without '['"],
    ['node[3-1]', 5, 'backwards'],
    ['node[a-b]', 5, 'expected a number'],
    ['node[]', 5, 'empty range'],
    ['a,,b', 2, 'empty name'],
    ['a,', 1, 'trailing comma'],
    ['no de', 2, "unexpected ' '"],
    ['', 0, 'empty hostlist'],
  ])('rejects %j, pointing at character %i', (input, pos, what) => {
    let err: unknown
    try {
      expandHostlist(input)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(HostlistError)
    const e = err as HostlistError
    expect(e.code).toBe('HOSTLIST_SYNTAX')
    expect(e.position).toBe(pos)
    expect(e.line).toContain(what)
    expect(e.message.split('\n')[2]!.indexOf('^')).toBe(pos + 2)
  })
  it('refuses a list that would exhaust memory', () => {
    expect(() => expandHostlist('n[1-99999999]')).toThrow(/more than/)
  })
})

describe('compressHostlist', () => {
  it('compresses runs', () => {
    expect(compressHostlist(['n1', 'n2', 'n3', 'n5', 'x'])).toBe('n[1-3,5],x')
  })
  it('keeps padding apart from unpadded', () => {
    expect(compressHostlist(['n01', 'n02', 'n3'])).toBe('n[01-02],n3')
  })
  it('round-trips', () => {
    const list = 'node[1-16,20],demo-a,r[1-2]-bmc'
    expect(expandHostlist(compressHostlist(expandHostlist(list)))).toEqual(expandHostlist(list))
  })
})
